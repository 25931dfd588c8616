"""Answering a question from one namespace: retrieve, judge whether the passages answer it,
compose a cited answer (or say what is missing), and, with an LLM configured, generate and verify."""
from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np

from newsbot.index.answering import answerability, extractive, reading
from newsbot.index.answering.question import asks_for_latest, key_names, looks_like_question
from newsbot.index.answering.reader import ReaderModel, ReaderUnavailable, load_reader
from newsbot.index.answering.retrieval import RetrievalConfig, idf_weights, retrieve
from newsbot.index.api import AskRequest
from newsbot.index.embedding.embedder import Embedder
from newsbot.index.errors import ConfigError, InputError, LLMUnavailableError
from newsbot.index.records import Answer, Article, Citation, Judgment, Passage
from newsbot.index.settings import Settings
from newsbot.index.storage.lexical import LexicalIndex
from newsbot.index.storage.store import Filters, NamespaceStore
from newsbot.index.text.dates import timed_find_range
from newsbot.index.text.language import detect_language
from newsbot.index.text.words import clean_text, content_terms, lexical_terms, sentence_spans

if TYPE_CHECKING:  # imported when an LLM is first used
    from newsbot.index.answering.generated import Prompts
    from newsbot.index.answering.llm_client import ChatLLM

# The notices an answer may carry, as codes; front ends word them from the catalogue (note.<code>).
LLM_UNAVAILABLE, LLM_NOT_FOUND, LLM_UNVERIFIABLE, DATES_NOT_APPLIED = NOTICES = (
    "llm_unavailable", "llm_not_found", "llm_unverifiable", "dates_not_applied")


def _noted(answer: Answer, code: str, note: str, detail: str = "") -> Answer:
    """A notice for the reader: as English text in `notes`, and as data in `notices` for front ends
    that word it in another language."""
    return replace(answer, notes=[*answer.notes, note], notices=[*answer.notices, {"code": code, "detail": detail}])


ARCHIVE_DAYS = 60
def as_of(citations, articles: dict[str, Article], latest: bool) -> str:
    """The newest cited article's date, when the cited articles are of different dates or the latest
    was asked for ("" otherwise, and never from an undated article)."""
    days = {articles[c.article_id].published_at[:10] for c in citations
            if c.article_id in articles and articles[c.article_id].published_at}
    if not days or (len(days) < 2 and not latest):
        return ""
    return max(days)


def committed(passages: list[Passage], articles: dict[str, Article]) -> list[Passage]:
    """The passages of article versions that are committed: a chunk of a version not (or no longer)
    committed is dropped."""
    return [p for p in passages if p.article_id in articles
            and p.chunk_id.startswith(f"{p.article_id}@{articles[p.article_id].content_hash[:12]}")]


class Asker:
    def __init__(self, settings: Settings, embedder: Embedder, lexical: LexicalIndex) -> None:
        self.settings = settings
        self.embedder = embedder
        self.lexical = lexical
        self._chat: tuple[ChatLLM, Prompts] | None = None  # the LLM client and prompts, built on first use
        self._nonempty: set[str] = set()  # namespaces seen with chunks (saves a count per question)
        self._live: dict[tuple[str, date], tuple[bool, float]] = {}  # (namespace, day) -> (recent articles?, read at)
        self._reader: ReaderModel | None = None  # loaded on the first question that reads
        self._reader_failed = False
        self._reader_lock = threading.Lock()

    def forget(self, namespace: str) -> None:
        """Count the namespace's chunks again before the next question (an article was removed)."""
        self._nonempty.discard(namespace)
        for key in [k for k in self._live if k[0] == namespace]:
            self._live.pop(key, None)

    def _is_live(self, st: NamespaceStore, day: date) -> bool:
        """Whether "last week" is counted from `day`: not in an archive (no article in the
        ARCHIVE_DAYS before it), where a question's "this week" is the week it was asked, which the
        archive does not know (rtqa-dev: 52 of 98 questions say "this week", of 52 different weeks;
        taking the newest article's week dropped hit@1 from 0.653 to 0.398). One filtered lookup per
        namespace and hour."""
        key = (st.namespace, day)
        cached = self._live.get(key)
        if cached is None or time.monotonic() - cached[1] > 3600:
            cached = (st.has_article_since((day - timedelta(days=ARCHIVE_DAYS)).isoformat()), time.monotonic())
            self._live[key] = cached
        return cached[0]

    def ask(self, st: NamespaceStore, request: AskRequest) -> Answer:
        """See Engine.ask."""
        question, k, filters, mode, retrieval = (request.question, request.k, request.filters, request.mode,
                                                 request.retrieval)
        context, context_articles, llm = request.context, request.context_articles, request.llm
        answer_lang, today, reader = request.answer_lang, request.today, request.reader
        t0 = time.perf_counter()
        question = " ".join(clean_text(question or "").split())  # no control characters or lone surrogates
        if not question:
            raise InputError("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise InputError(f"the question is too long ({len(question)} characters; the limit is "
                             f"{self.settings.max_question_chars})")
        if not context and not content_terms(question):  # "?!?!", "*", "OR": not even FTS5 syntax reaches retrieval
            lang = detect_language(question)
            return Answer(question, extractive.no_words(lang), True, reason=answerability.NO_WORDS, lang=lang,
                          timings_ms={"total_ms": (time.perf_counter() - t0) * 1000})
        k = k or self.settings.top_k
        use_llm = self.settings.llm_enabled if llm is None else llm
        if use_llm and not self.settings.llm_enabled:
            raise ConfigError("no LLM is configured: set LLM_PROVIDER (openai, openai-compatible or ollama) in .env")
        timings: dict[str, float] = {}
        if st.namespace not in self._nonempty and (not st.exists or st.count_chunks() == 0):
            timings["total_ms"] = (time.perf_counter() - t0) * 1000
            return Answer(question, extractive.ABSTAIN_TEXT + " No articles are indexed yet.", True, timings_ms=timings,
                          reason=answerability.EMPTY, lang=detect_language(question))
        self._nonempty.add(st.namespace)
        lang = detect_language(question, self.lexical.languages(st.namespace))
        asked_range = unapplied = None
        if not (filters and (filters.date_from or filters.date_to)):  # the caller's dates win
            day = today or datetime.now(timezone.utc).date()
            found, timings["dates_ms"] = timed_find_range(question, lang, day)
            # the range filters retrieval; undated articles are left out
            if found is not None and self._is_live(st, day):
                asked_range = found
                start, end = found.bounds()
                filters = Filters(source=filters.source if filters else "", date_from=start.isoformat(),
                                  date_to=end.isoformat())
            else:  # in an archive the answer says the phrase was read and why it was not applied
                unapplied = found
        t = time.perf_counter()
        config = retrieval or RetrievalConfig(mode=self.settings.retrieval_mode, candidates=self.settings.candidates)
        config = replace(config, mode=mode or config.mode, candidates=max(config.candidates, k))
        search = f"{' '.join(context.split())} {question}" if context else question
        symmetric = config.statements_as_passages and not looks_like_question(question)
        qvec = self.embedder.embed_query(search, as_passage=symmetric)
        judge = self.embedder.embed_query(search) if symmetric else None
        timings["embed_ms"] = (time.perf_counter() - t) * 1000
        passages = retrieve(st, self.lexical, qvec, search, k, config, filters, timings,
                            context_articles=frozenset(context_articles), judge_vector=judge,
                            sentence_vectors=functools.partial(self.embedder.embed_passages, urgent=True))
        t = time.perf_counter()
        articles = st.get_articles([p.article_id for p in passages], with_text=True)
        passages = committed(passages, articles)
        asked = asked_range.removed_from(question) if asked_range else question  # the dates are the filter's job
        read = None
        reads = self.settings.reader == "on" if reader is None else reader
        model = self.reader_model() if passages and reads else None
        if model is not None and self.model.reads:  # a judgment fitted with the reader's scores reads first
            read = reading.read(model, asked, passages, articles)
            timings["read_ms"] = read.ms
            passages = reading.rerank(passages, read)
        judgment = self.judge(st.namespace, asked, lang, passages, articles, read)
        latest = asks_for_latest(question)
        if judgment.answerable:
            chosen = list(judgment.passages)
            if latest:  # the newest article first; an undated one is never taken for new
                chosen.sort(key=lambda p: articles[p.article_id].published_at or "", reverse=True)
            if model is not None:
                picked = extractive.pick_sentences(question, chosen, articles, self.settings.answer_sentences,
                                                   context=context)  # once: it names the lead article and quotes
                lead = chosen[0].article_id if latest else (picked[0][0].article_id if picked else "")
                first = [p for p in chosen if p.article_id == lead][:1]
                if read is None:  # only the passage quoted first is read: its best window is the quote
                    read = reading.read(model, asked, first, articles)
                    timings["read_ms"] = read.ms
                    passages = reading.rerank(passages, read)
                # only within a language: the reader saw no pair across languages, and it underrates those
                if first and first[0].lang == lang and reading.refutes(
                        [w for w in read.windows if w.chunk_id == first[0].chunk_id]):
                    judgment = replace(judgment, answerable=False, reason=answerability.NOT_COVERED)
                else:
                    text, citations = extractive.compose_read(question, chosen, read.windows, articles,
                                                              self.settings.answer_sentences, lead=lead,
                                                              context=context, picked=picked)
            else:
                text, citations = extractive.compose(question, chosen, articles, self.settings.answer_sentences,
                                                    context=context)
        if not judgment.answerable:
            text, citations = extractive.abstention(judgment, lang), []
        if read is not None:
            judgment = replace(judgment, read=read.windows)
        abstained = not citations
        closest = None
        if abstained and judgment.reason == answerability.NOT_COVERED and answerability.near_topic(judgment,
                                                                                                   self.model):
            closest = extractive.closest_sentence(question, list(judgment.passages), articles, context)
        if abstained and closest is None and asked_range is not None:
            t_out = time.perf_counter()
            closest = self.closest_outside_range(st, question, search, asked, lang, qvec, judge, k, config, filters,
                                                 context, frozenset(context_articles))
            timings["outside_range_ms"] = (time.perf_counter() - t_out) * 1000
        verified = extractive.verify_citations(citations, articles)
        if len(verified) != len(citations):  # cannot happen by construction; never show an unverified quote
            text = (" ".join(f"{extractive.defuse_markers(' '.join(c.quote.split()))} [{c.n}]" for c in verified)
                    or extractive.ABSTAIN_TEXT)
            abstained = not verified
        timings["answer_ms"] = (time.perf_counter() - t) * 1000
        result = Answer(question, text, abstained, verified, passages, timings,
                        reason=judgment.reason or ("" if not abstained else answerability.NOT_COVERED),
                        judgment=judgment,
                        closest=closest, lang=lang, date_range=asked_range.to_dict() if asked_range else None,
                        as_of=as_of(verified, articles, latest))
        if unapplied is not None:
            result = _noted(result, DATES_NOT_APPLIED, f"“{unapplied.phrase}” was not applied as a date: no article "
                                                       f"here "
                            f"is from the last {ARCHIVE_DAYS} days", unapplied.phrase)
        if use_llm and not abstained:  # judged not to answer: no LLM is asked, there is nothing to answer from
            t = time.perf_counter()
            result = self.generate(result, articles, k, lang, answer_lang or lang, today=today)
            timings["llm_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return result

    def closest_outside_range(self, st: NamespaceStore, question: str, search: str, asked: str, lang: str,
                              qvec: np.ndarray, judge: np.ndarray | None, k: int, config: RetrievalConfig,
                              filters: Filters | None, context: str,
                              context_articles: frozenset[str]) -> Citation | None:
        """When the question's dates filtered the search and nothing in them answers: the best sentence
        from outside those dates, if the articles there would answer. Shown dated beside the
        abstention, never as the answer: a week's news is not answered from a year-old article, but the
        member learns what the index has (a search engine often dates a page outside its story's week)."""
        unfiltered = replace(filters, date_from="", date_to="") if filters is not None else None
        passages = retrieve(st, self.lexical, qvec, search, k, config, unfiltered, {},
                            context_articles=context_articles, judge_vector=judge,
                            sentence_vectors=functools.partial(self.embedder.embed_passages, urgent=True))
        articles = st.get_articles([p.article_id for p in passages], with_text=True)
        passages = committed(passages, articles)
        judgment = self.judge(st.namespace, asked, lang, passages, articles, None)
        if not judgment.answerable:
            return None
        return extractive.closest_sentence(question, list(judgment.passages), articles, context)

    # ------------------------------------------------------------ judging

    def reader_model(self) -> "ReaderModel | None":
        """The reader, loaded on first use; None when its file is missing or damaged (said once in
        the log: questions are then answered as with NEWSBOT_READER=off)."""
        if self._reader is not None or self._reader_failed:
            return self._reader
        with self._reader_lock:
            if self._reader is None and not self._reader_failed:
                try:
                    self._reader = load_reader(self.settings)
                except ReaderUnavailable as exc:
                    self._reader_failed = True
                    logging.getLogger("newsbot.reader").warning("%s; answering without the reader", exc)
        return self._reader

    def judge(self, namespace: str, question: str, lang: str, passages: list[Passage],
              articles: dict[str, Article], read: "reading.Reading | None" = None) -> Judgment:
        """The answerability judgment, with the term statistics it needs from the lexical index."""
        q_terms = lexical_terms(question, lang)
        df, total = self.lexical.document_frequencies(namespace, q_terms) if q_terms else ({}, 0)
        # IDF as if the index held at least JUDGE_MIN_CHUNKS chunks: in a tiny index every term it lacks
        # would otherwise outweigh the terms it has several times over, whatever the question.
        weights = idf_weights(q_terms, df, max(total, answerability.JUDGE_MIN_CHUNKS)) if q_terms else {}
        terms = self.lexical.terms_of(namespace, [p.chunk_id for p in passages[:5]])
        return answerability.judge(question, lang, passages, articles, weights, terms,
                                   self._unknown_names(namespace, question, lang, passages), self.model,
                                   read=read.features() if read is not None else None)

    @functools.cached_property
    def model(self) -> "answerability.Model":
        """The answerability model at the configured operating point (read once)."""
        return answerability.operating_point(self.settings.abstain_threshold)

    def _unknown_names(self, namespace: str, question: str, lang: str, passages: list[Passage]) -> list[str]:
        """Names the question asks about that no chunk of the namespace contains (nor a retrieved
        title). Judged only when the closest passage is in the question's language: an article in that
        language would spell the name the same way ("Pope" may be "Paus" in Indonesian, "US" is "AS").
        An English article further down does not make the name's absence evidence against the Indonesian
        one on top: in the mixed index (idmt-dev beside rtqa-dev) that refused 8 answerable questions
        whose top passage answered them (docs/multilingual.md, stop 43)."""
        if not lang or not passages or passages[0].lang != lang:
            return []
        names = {n: stems for n in key_names(question) if (stems := lexical_terms(n, lang))}
        if not names:
            return []
        df, _ = self.lexical.document_frequencies(namespace, [t for stems in names.values() for t in stems])
        titles = {t for p in passages for t in lexical_terms(p.title, p.lang)}
        return [n for n, stems in names.items() if not any(df.get(t, 0) or t in titles for t in stems)]

    # ------------------------------------------------------------ generating

    def generate(self, quoted: Answer, articles: dict[str, Article], k: int, lang: str, answer_lang: str = "",
                 today: date | None = None) -> Answer:
        """The LLM's answer after verification, in `answer_lang` (default: the question's); the
        extractive one (`quoted`), with a notice, when the LLM fails. `today` is the day asked on (the prompt's
        "Today is", which the model reads "last week" from)."""
        from newsbot.index.answering import generated as llm_answer
        from newsbot.index.answering.llm_client import ChatLLM

        if self._chat is None:
            self._chat = (ChatLLM(self.settings), llm_answer.Prompts.load(self.settings.prompts_dir))
        chat, prompts = self._chat
        sources = llm_answer.number_sources(answerability.sources_for(quoted.judgment), articles, k)
        day = (today or datetime.now(timezone.utc).date()).isoformat()
        system, user = llm_answer.build_prompt(prompts, quoted.question, sources, lang or "en", day,
                                               answer_language=answer_lang or lang or "en")
        try:
            reply = chat.chat(system, user)
        except LLMUnavailableError as exc:
            return _noted(quoted, LLM_UNAVAILABLE, f"LLM unavailable ({exc}); answered with quotes instead", str(exc))
        checked = llm_answer.verify(reply, sources, self._closest_sentence)
        verified = extractive.verify_citations(checked.citations, articles)
        if checked.citations and len(verified) == len(checked.citations):
            return replace(quoted, answer=checked.text, citations=verified, mode="llm", model=chat.name,
                           removed=checked.removed)
        if checked.said_not_found:
            found_none = replace(quoted, answer=extractive.ABSTAIN_TEXT, citations=[], abstained=True, mode="llm",
                                 reason=answerability.NOT_COVERED, model=chat.name, removed=checked.removed)
            return _noted(found_none, LLM_NOT_FOUND, "the LLM found no answer in the passages")
        return _noted(replace(quoted, removed=checked.removed), LLM_UNVERIFIABLE,
                      "the LLM's answer had no verifiable sentence; answered with quotes instead")

    def _closest_sentence(self, claim: str, cited: list) -> float:
        """The highest cosine between `claim` and a sentence of the cited passages (both embedded as
        passages: a symmetric comparison that works across languages). Sentences are cached."""
        sentences = [s.text[a:b] for s in cited for a, b in sentence_spans(s.text)][:60]
        if not sentences:
            return 0.0
        vectors = self.embedder.embed_passages([claim, *sentences], urgent=True)
        return float(np.max(vectors[1:] @ vectors[0]))
