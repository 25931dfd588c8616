"""The real bot (unmodified discord.py) end to end against the fake Discord on 127.0.0.1."""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import replace

import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.ratelimit import RateLimiter
from newsbot.bot.settings import BotSettings
from conftest import SEED_QUESTION, answerable, make_settings, run_cli
from newsbot.index.storage import audit
from support.fake_discord import ClientThread, FakeDiscord
from newsbot.index.engine import Engine
from support.servers import Handler, QuietServer


from support.bot_harness import Harness, embed_of


@pytest.fixture(scope="module")
def harness(tmp_path_factory, cache_dir):
    data = tmp_path_factory.mktemp("bot-data")
    engine = Engine(make_settings(data_dir=data, cache_dir=cache_dir, allow_loopback_urls=True))
    h = Harness(engine, BotSettings(token="unused", ask_rate=1000, admin_role="News Admin")).start()
    yield h
    h.stop()
    engine.close()


@pytest.fixture(autouse=True)
def no_protocol_violations(request):
    yield
    if "harness" in request.fixturenames:
        h = request.getfixturevalue("harness")
        assert h.fake.unknown_routes == [], "the bot called routes Discord does not have"
        assert h.fake.foreign_hosts == [], "the bot called a non-Discord host"
        assert h.crashed is None
        assert all(not i.errors for i in h.fake.interactions.values()), [i.errors for i in h.fake.interactions.values() if i.errors]


def test_startup_syncs_every_command_and_identifies(harness):
    names = {c["name"] for c in harness.fake.global_commands}
    assert names == {"ask", "add", "sources", "remove", "stats", "help", "language", "feed"}
    order = [path for _, path in harness.fake.requests if path.startswith("discord.com")][:3]
    assert order[0].endswith("/users/@me") and order[1].endswith("/oauth2/applications/@me")
    assert order[2].endswith(f"/applications/{harness.fake.app_id}/commands")
    assert harness.fake.identifies == 1 and harness.fake.heartbeats


@pytest.mark.model
def test_ask_is_deferred_then_answered_with_the_seed_citation(harness):
    inter, reply = harness.ask(SEED_QUESTION)
    assert inter.response["type"] == 5, "acknowledged at once with a deferred 'thinking' response"
    assert inter.acked_at - inter.created < 3
    embed = embed_of(reply)
    assert "[1]" in embed["description"] and "tidak siap" in embed["description"]
    first = embed["fields"][0]
    assert first["name"].startswith("[1] Persiapan KTT Trump-Putin")
    assert "CBS News" in first["value"] and "22 February 2025" in first["value"] and "tidak siap" in first["value"]
    assert embed["footer"]["text"].startswith("Answered in")
    labels = [c.get("label") or c.get("emoji", {}).get("name") for row in reply["components"] for c in row["components"]]
    assert labels == ["Show passages", "👍", "👎"]
    assert reply["_allowed_mentions"] == {"parse": []}, "no mass mentions, ever"


def test_private_ask_is_ephemeral(harness):
    inter, reply = harness.ask(SEED_QUESTION, private=True)
    assert inter.ephemeral and reply["flags"] & 64


def test_unanswerable_question_abstains_and_lists_closest_articles(harness):
    _, reply = harness.ask("Who won the Nobel Prize in Chemistry in 2024?")
    embed = embed_of(reply)
    assert "don't cover" in embed["description"]
    assert embed["fields"][0]["name"] == "Closest articles"


def test_show_passages_sends_the_full_cited_passage_ephemerally(harness):
    inter, reply = harness.ask(SEED_QUESTION)
    click = harness.fake.click(inter, harness.member, "Show passages", reply)
    harness.fake.wait_until(lambda: click.response, 30, "the passages")
    assert click.response["type"] == 4 and click.ephemeral
    assert "tidak siap" in click.original["content"] and len(click.original["content"]) <= 2000


@pytest.mark.model
def test_feedback_click_is_stored(harness):
    inter, reply = harness.ask(SEED_QUESTION)
    click = harness.fake.click(inter, harness.member, "👍", reply)
    harness.fake.wait_until(lambda: click.response, 30, "the feedback ack")
    rows = harness.bot.feedback.read()
    assert rows[-1]["vote"] == "up" and rows[-1]["question"] == SEED_QUESTION
    assert rows[-1]["citations"][0]["article_id"] == "seed-trump-putin-summit"
    assert harness.member["id"] not in json.dumps(rows[-1]), "only a hash of the user id is stored"


@pytest.fixture(scope="module")
def site():
    server = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_add_by_url_then_ask_finds_it(harness, site):
    inter = harness.fake.slash(harness.gid, harness.admin, "add", {"url": f"{site}/world/ukraine-grain-insurance"})
    reply = harness.fake.wait_reply(inter)
    assert inter.ephemeral
    assert "Added **Ukraine's parliament backs grain export insurance fund** (26 February 2025)" in reply["content"]
    _, answer = harness.ask("How much money does Ukraine's grain insurance fund start with?")
    assert "Harbour Times" in embed_of(answer)["fields"][0]["value"]


@pytest.mark.parametrize("given", ["{secret}", "{folder}", "./.env", "-", "file://{secret}", "ftp://example.com/a.txt",
                                   "data:text/plain,Hello%20world%20this%20is%20an%20article"])
def test_add_url_reads_only_http_urls_never_a_path_on_the_bots_machine(harness, tmp_path, given):
    secret = tmp_path / "bot.env"
    secret.write_text("DISCORD_TOKEN=very-secret-token-value\nThis file is private configuration of the bot.\n")
    before = [a.id for a in harness.engine.sources(f"guild-{harness.gid}")]
    inter = harness.fake.slash(harness.gid, harness.admin, "add", {"url": given.format(secret=secret, folder=tmp_path)})
    reply = harness.fake.wait_reply(inter)
    assert "is not an http(s) URL" in reply["content"]
    assert [a.id for a in harness.engine.sources(f"guild-{harness.gid}")] == before, "nothing was indexed"
    chunks = " ".join(text for _, text, _ in harness.engine.store(f"guild-{harness.gid}").iter_chunks())
    assert "very-secret-token-value" not in chunks


def test_add_by_text_and_duplicate(harness):
    text = ("The city of Surabaya opened its first electric bus line on Monday, with 20 buses running between "
            "the airport and the city centre, the transport agency said.")
    inter = harness.fake.slash(harness.gid, harness.admin, "add", {"text": text, "title": "Surabaya electric buses"})
    assert "Added **Surabaya electric buses**" in harness.fake.wait_reply(inter)["content"]
    again = harness.fake.slash(harness.gid, harness.admin, "add", {"text": text, "title": "Same again"})
    assert "Already indexed as `h" in harness.fake.wait_reply(again)["content"]


def test_add_by_attachment(harness):
    body = "Garuda Indonesia will add daily flights from Jakarta to Sydney from April, the airline said on Tuesday."
    harness.fake.attachments["att1"] = body.encode()
    attachment = {"id": "5551", "filename": "garuda.txt", "size": len(body), "content_type": "text/plain",
                  "url": "https://cdn.discordapp.com/attachments/1/att1/garuda.txt",
                  "proxy_url": "https://media.discordapp.net/attachments/1/att1/garuda.txt"}
    inter = harness.fake.slash(harness.gid, harness.admin, "add", {"file": "5551"}, attachments={"5551": attachment})
    assert "Added **Garuda Indonesia will add daily flights" in harness.fake.wait_reply(inter)["content"]
    _, answer = harness.ask("Which airline adds flights from Jakarta to Sydney?")
    assert "Garuda" in embed_of(answer)["description"]


def test_add_errors_are_clear(harness):
    inter = harness.fake.slash(harness.gid, harness.admin, "add", {"text": "   "})
    assert "no text to index" in harness.fake.wait_reply(inter)["content"]


def test_non_admin_cannot_add_or_remove(harness):
    inter = harness.fake.slash(harness.gid, harness.member, "add", {"text": "Some article text about the news here."})
    harness.fake.wait_until(lambda: inter.response, 10, "the refusal")
    assert "Only members with Manage Server" in inter.original["content"] and inter.ephemeral
    inter = harness.fake.slash(harness.gid, harness.member, "remove", {"id": "sample-football"})
    harness.fake.wait_until(lambda: inter.response, 10, "the refusal")
    assert "Only members with Manage Server" in inter.original["content"] and "remove" in inter.original["content"]
    assert "sample-football" in [a.id for a in harness.engine.sources(f"guild-{harness.gid}")]


def test_add_and_remove_are_hidden_from_members_without_manage_server(harness):
    """The synced schema carries default_member_permissions: Discord shows /add and /remove only to
    members with Manage Server (a server may grant them to a role in its Integrations settings)."""
    synced = {c["name"]: c for c in harness.fake.commands_for(harness.gid)}
    manage_guild = str(1 << 5)
    assert str(synced["add"]["default_member_permissions"]) == manage_guild
    assert str(synced["remove"]["default_member_permissions"]) == manage_guild
    assert synced["ask"].get("default_member_permissions") is None and synced["sources"].get("default_member_permissions") is None


def test_admin_role_may_add(harness):
    rid = harness.fake.add_role(harness.gid, "News Admin")
    editor = FakeDiscord.user("carol")
    harness.fake.add_member(harness.gid, {"user": editor, "roles": [rid], "permissions": FakeDiscord.MEMBER})
    text = "Bali's airport handled a record 24 million passengers last year, the operator said on Friday."
    inter = harness.fake.slash(harness.gid, editor, "add", {"text": text})
    assert "Added" in harness.fake.wait_reply(inter)["content"]


def test_remove_asks_for_confirmation_first(harness):
    ns = f"guild-{harness.gid}"
    inter = harness.fake.slash(harness.gid, harness.admin, "remove", {"id": "sample-football"})
    harness.fake.wait_until(lambda: inter.response, 10, "the confirmation")
    assert "Remove `sample-football`" in inter.original["content"]
    assert "sample-football" in [a.id for a in harness.engine.sources(ns)], "nothing deleted before confirming"
    click = harness.fake.click(inter, harness.admin, "Remove", inter.original)
    harness.fake.wait_until(lambda: click.response, 30, "the removal")
    assert click.response["type"] == 7 and "Removed `sample-football`" in click.message["content"]
    assert "sample-football" not in [a.id for a in harness.engine.sources(ns)]


def test_adds_and_removals_from_discord_are_audited_with_the_member_id(harness):
    ns = f"guild-{harness.gid}"
    text = "Bandung opened a 12-kilometre cycle lane along its main river on Sunday, the mayor's office said."
    harness.fake.wait_reply(harness.fake.slash(harness.gid, harness.admin, "add", {"text": text, "title": "Bandung lane"}))
    [added] = [e for e in audit.read(harness.engine.settings.data_dir, ns) if e.get("title") == "Bandung lane"]
    assert added["actor"] == f"discord:{harness.admin['id']}" and added["status"] == "added" and added["article_id"]
    inter = harness.fake.slash(harness.gid, harness.admin, "remove", {"id": added["article_id"]})
    harness.fake.wait_until(lambda: inter.response, 10, "the confirmation")
    click = harness.fake.click(inter, harness.admin, "Remove", inter.original)
    harness.fake.wait_until(lambda: click.response, 30, "the removal")
    removed = audit.read(harness.engine.settings.data_dir, ns)[-1]
    assert (removed["action"], removed["article_id"], removed["actor"]) == ("remove", added["article_id"], added["actor"])


def test_the_bot_reports_its_gateway_health_to_newsbot_health(harness):
    done = run_cli(["health", "--bot"], harness.engine.settings)
    assert done.returncode == 0, done.stderr
    assert "connected to Discord in 2 server(s)" in done.stdout.decode()


def test_while_the_bot_runs_the_cli_reads_and_writes_through_it(harness, tmp_path):
    """The bot holds the embedded store; the command line (another process) goes through its socket."""
    settings, ns = harness.engine.settings, f"guild-{harness.gid}"
    question, quoted = answerable()
    asked = run_cli(["ask", question, "--namespace", ns, "--json"], settings)
    assert asked.returncode == 0, asked.stderr
    assert quoted in json.loads(asked.stdout)["answer"]
    assert quoted in run_cli(["ask", question, "--namespace", ns], settings).stdout.decode()
    dated = run_cli(["ask", "What happened yesterday?", "--namespace", ns, "--as-of", "2025-02-22", "--json"], settings)
    assert json.loads(dated.stdout)["date_range"]["from"] == "2025-02-21", "the day asked on crosses the socket"
    listed = json.loads(run_cli(["sources", "--namespace", ns, "--json"], settings).stdout)
    assert "sample-measles" in [a["id"] for a in listed]
    note = tmp_path / "note.txt"
    note.write_text("Semarang opened a flood pumping station with six pumps on Thursday, the city said.", encoding="utf-8")
    added = run_cli(["add", str(note), "--namespace", ns, "--title", "Semarang pumps", "--json"], settings)
    assert added.returncode == 0, added.stderr
    article_id = json.loads(added.stdout)["id"]
    assert article_id in [a.id for a in harness.engine.sources(ns)], "the bot's engine indexed it"
    stats = json.loads(run_cli(["stats", "--namespace", ns, "--json"], settings).stdout)
    assert stats["articles"] == len(listed) + 1
    exported = run_cli(["export", "--namespace", ns], settings).stdout.decode().splitlines()
    assert any(json.loads(line)["text"].startswith("Semarang opened") for line in exported)
    assert run_cli(["remove", article_id, "--namespace", ns], settings).returncode == 0
    assert article_id not in [a.id for a in harness.engine.sources(ns)]
    assert audit.read(settings.data_dir, ns)[-1]["actor"].startswith("cli:")
    missing = run_cli(["remove", "no-such-id", "--namespace", ns], settings)
    assert missing.returncode == 1 and "no article with id 'no-such-id'" in missing.stderr.decode()
    rebuilt = run_cli(["reindex", "--namespace", ns, "--json"], settings)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)[0]["articles"] == len(listed)
    _, reply = harness.ask(question)
    assert quoted in embed_of(reply)["description"], "the bot kept answering"


def test_clients_slow_to_send_their_adds_hold_no_worker_and_questions_are_answered(harness):
    """Two `(sleep 40; echo TEXT) | newsbot add -` once held both workers: every question waited 40 s."""
    import socket as sockets

    from newsbot.index.service.remote import socket_path

    settings, ns = harness.engine.settings, f"guild-{harness.gid}"
    question, quoted = answerable()
    slow = []
    for _ in range(3):  # more than the bot's workers
        conn = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
        conn.connect(str(socket_path(settings.data_dir)))
        conn.sendall(json.dumps({"op": "add", "args": {"namespace": ns, "actor": "cli:slow"}}).encode() + b"\n")
        slow.append(conn)  # ... and now nothing more, for a while
    try:
        asked = run_cli(["ask", question, "--namespace", ns, "--json"], settings)  # waits for ever if no worker is free
        assert asked.returncode == 0 and quoted in json.loads(asked.stdout)["answer"], asked.stderr
        _, reply = harness.ask(question)
        assert quoted in embed_of(reply)["description"]
        for i, conn in enumerate(slow):  # the slow clients finish, and their adds still go through
            draft = {"text": f"Kota {i} opened {i + 3} new libraries on Monday, the culture office said, with "
                             "longer opening hours at weekends.", "title": f"Libraries {i}"}
            conn.sendall(json.dumps({"draft": draft}).encode() + b"\n" + b'{"end": true}\n')
        for conn in slow:
            replies = [json.loads(line) for line in conn.makefile("rb")]
            assert replies[-1] == {"ok": 1} and replies[0]["item"]["status"] == "added", replies
    finally:
        for conn in slow:
            conn.close()


def test_a_client_that_goes_quiet_is_dropped_with_a_reason(harness, monkeypatch):
    import socket as sockets

    from newsbot.index.service import remote

    monkeypatch.setattr(remote, "IDLE_S", 0.5)
    conn = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
    conn.connect(str(remote.socket_path(harness.engine.settings.data_dir)))
    with conn:
        conn.sendall(b'{"op": "add", "args": {}}\n')
        reply = json.loads(conn.makefile("rb").readline())
    assert reply["kind"] == "InputError" and "sent nothing for" in reply["error"]


def test_stats_shows_admins_the_count_the_cap_the_disk_and_the_latest_additions(harness):
    inter = harness.fake.slash(harness.gid, harness.admin, "stats")
    embed = embed_of(harness.fake.wait_reply(inter))
    assert inter.ephemeral
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    count = len(harness.engine.sources(f"guild-{harness.gid}"))
    assert fields["Articles"] == f"{count:,} of at most 100,000"
    assert fields["Disk used (whole store)"].endswith(("KB", "MB", "GB")) and fields["Last added"].count("\n") == 4
    schema = next(c for c in harness.fake.global_commands if c["name"] == "stats")
    assert int(schema["default_member_permissions"]) == 1 << 5, "hidden from members without Manage Server"
    refused = harness.fake.slash(harness.gid, harness.member, "stats")
    harness.fake.wait_until(lambda: refused.response, 10, "the refusal")
    assert "Only members with Manage Server" in refused.original["content"]


def test_help_explains_asking_browsing_and_the_admin_commands(harness):
    inter = harness.fake.slash(harness.gid, harness.member, "help")
    harness.fake.wait_until(lambda: inter.response, 10, "the help")
    description = inter.original["embeds"][0]["description"]
    assert inter.ephemeral and all(c in description for c in ("/ask", "/sources", "/add", "/remove", "/stats", "follow-up"))


def test_remove_unknown_id_is_a_clear_error(harness):
    inter = harness.fake.slash(harness.gid, harness.admin, "remove", {"id": "no-such-article"})
    harness.fake.wait_until(lambda: inter.response, 10, "the error")
    assert "no article with id 'no-such-article'" in inter.original["content"]


def test_remove_autocompletes_ids_and_titles(harness):
    inter = harness.fake.autocomplete(harness.gid, harness.admin, "remove", "id", "cobalt")
    harness.fake.wait_until(lambda: inter.response, 10, "the choices")
    choices = inter.response["data"]["choices"]
    assert choices and choices[0]["value"] == "sample-congo-cobalt"


def test_sources_pages_with_buttons(harness):
    inter = harness.fake.slash(harness.gid, harness.member, "sources")
    harness.fake.wait_until(lambda: inter.response, 10, "the list")
    first = inter.original["embeds"][0]
    assert first["footer"]["text"].startswith("Page 1/") and first["description"].count("`") >= 20
    click = harness.fake.click(inter, harness.member, "Next ▶", inter.original)
    harness.fake.wait_until(lambda: click.response, 10, "page 2")
    assert click.message["embeds"][0]["footer"]["text"].startswith("Page 2/")
    assert click.message["embeds"][0]["description"] != first["description"]


def test_sources_search_filters(harness):
    inter = harness.fake.slash(harness.gid, harness.member, "sources", {"search": "lithium"})
    harness.fake.wait_until(lambda: inter.response, 10, "the list")
    description = inter.original["embeds"][0]["description"]
    assert "sample-chile-lithium" in description and "sample-football" not in description


@pytest.mark.model
def test_mention_gets_the_answer_as_a_reply_and_a_reply_asks_a_follow_up(harness):
    n = len(harness.fake.channel_messages)
    harness.fake.mention(harness.gid, harness.member, SEED_QUESTION)
    reply = harness.fake.wait_until(lambda: harness.fake.channel_messages[n:] and harness.fake.channel_messages[n], 60, "a reply")
    assert "tidak siap" in reply["embeds"][0]["description"]
    assert reply["message_reference"]["message_id"]
    harness.fake.mention(harness.gid, harness.member, "and what did Ukraine want included?", reply_to=reply)
    follow = harness.fake.wait_until(lambda: len(harness.fake.channel_messages) > n + 1 and harness.fake.channel_messages[n + 1],
                                     60, "a follow-up reply")
    embed = follow["embeds"][0]
    assert embed["title"] == "and what did Ukraine want included?"
    assert "jaminan keamanan" in embed["description"], "the follow-up is answered for the new question"
    assert any("Persiapan KTT" in f["name"] for f in embed["fields"]), "the earlier question guided retrieval"


def test_a_very_long_answer_stays_within_discord_limits(harness, monkeypatch):
    question, quoted = answerable()
    real_ask = harness.engine.ask

    def huge_ask(_asked, **kwargs):
        answer = real_ask(question, **kwargs)
        citation = answer.citations[0]
        answer.answer = (answer.answer + " ") * 60
        answer.citations = [replace(citation, n=i, title=citation.title * 8, quote=citation.quote * 10)
                            for i in range(1, 31)]
        return answer

    monkeypatch.setattr(harness.engine, "ask", huge_ask)
    _, reply = harness.ask("anything")
    embed = embed_of(reply)
    assert len(embed["description"]) <= 4096 and len(embed["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])


def test_a_slow_answer_is_still_acknowledged_within_3_seconds(harness, monkeypatch):
    question, quoted = answerable()
    real_ask = harness.engine.ask

    def slow_ask(*args, **kwargs):
        time.sleep(4)
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(harness.engine, "ask", slow_ask)
    inter, reply = harness.ask(question)
    assert inter.acked_at - inter.created < 3
    assert quoted in embed_of(reply)["description"]
    beats = harness.fake.heartbeats
    assert beats[-1] > inter.created, "the gateway heartbeat went on while the engine worked"


@pytest.mark.model
def test_the_event_loop_keeps_its_heartbeat_during_a_large_add(harness):
    """A large /add embeds for seconds in a worker thread; the gateway heartbeat never falls behind."""
    run = uuid.uuid4().hex[:8]  # text no earlier run embedded: the test cache is kept between runs
    body = "\n\n".join(
        f"Paragraph {i} ({run}): the regional water authority in district {i} reported that {i * 37} households "
        f"received new pipes this month, while repairs on reservoir {i % 7} continued, officials said."
        for i in range(1500))  # ~10 s of embedding on 2 cores with the ONNX runtime
    harness.fake.attachments["big1"] = body.encode()
    attachment = {"id": "7771", "filename": "water.txt", "size": len(body), "content_type": "text/plain",
                  "url": "https://cdn.discordapp.com/attachments/1/big1/water.txt",
                  "proxy_url": "https://media.discordapp.net/attachments/1/big1/water.txt"}
    start = time.monotonic()
    inter = harness.fake.slash(harness.gid, harness.admin, "add", {"file": "7771"}, attachments={"7771": attachment})
    reply = harness.fake.wait_reply(inter, timeout=300)
    took = time.monotonic() - start
    assert "Added" in reply["content"]
    beats = [t for t in harness.fake.heartbeats if start <= t <= start + took]
    interval = harness.fake.heartbeat_interval_ms / 1000
    assert took > 2 * interval, "the add must outlast a few heartbeats to prove anything"
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    assert gaps and max(gaps) < 1.5 * interval, (max(gaps), interval)


@pytest.mark.model
def test_llm_answers_are_labelled_and_a_slow_llm_falls_back_with_a_notice(tmp_path, cache_dir):
    from support.fake_llm import FakeLLM, Reply

    llm = FakeLLM()
    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, llm_provider="openai-compatible",
                        llm_base_url=llm.openai_url, llm_api_key="sk-test", llm_model="test-model", llm_timeout_s=1)
    engine = Engine(settings)
    h = Harness(engine, BotSettings(token="unused", ask_rate=1000)).start()
    try:
        llm.play(Reply("Zelenskyy is not ready to sign the minerals deal, a source told AFP [1]. He wants guarantees [9]."))
        embed = embed_of(h.ask(SEED_QUESTION)[1])
        assert embed["description"] == "Zelenskyy is not ready to sign the minerals deal, a source told AFP [1]."
        assert embed["fields"][0]["name"].startswith("[1] Persiapan KTT Trump-Putin") and len(embed["fields"]) == 1
        assert "written by openai-compatible:test-model, citations checked" in embed["footer"]["text"]

        llm.play(Reply("too late [1].", delay_s=3))
        inter, reply = h.ask(SEED_QUESTION)
        embed = embed_of(reply)
        assert inter.acked_at - inter.created < 3
        assert "tidak siap" in embed["description"]
        assert "LLM unavailable (the LLM did not answer within 1 s); answered with quotes instead" in embed["footer"]["text"]
        assert h.crashed is None
    finally:
        h.stop()
        engine.close()
        llm.close()


def test_servers_are_isolated(harness):
    _, reply = harness.ask(SEED_QUESTION, user=harness.admin, gid=harness.other_gid)
    assert "don't cover" in embed_of(reply)["description"]
    inter = harness.fake.slash(harness.other_gid, harness.admin, "remove", {"id": "seed-trump-putin-summit"})
    harness.fake.wait_until(lambda: inter.response, 10, "the error")
    assert "no article with id" in inter.original["content"]
    assert "seed-trump-putin-summit" in [a.id for a in harness.engine.sources(f"guild-{harness.gid}")]


def test_rate_limit_answers_friendly_and_immediately(harness):
    question, quoted = answerable()
    harness.bot.limiter = RateLimiter(2, 60)
    try:
        harness.ask(question)
        harness.ask(question)
        inter = harness.fake.slash(harness.gid, harness.member, "ask", {"question": question})
        harness.fake.wait_until(lambda: inter.response, 10, "the refusal")
        assert inter.response["type"] == 4 and inter.ephemeral
        assert "Try again in" in inter.original["content"]
        _, other_user = harness.ask(question, user=harness.admin)
        assert quoted in embed_of(other_user)["description"]
    finally:
        harness.bot.limiter = RateLimiter(1000, 60)


def test_engine_errors_become_a_short_message_and_the_bot_keeps_running(harness, monkeypatch):
    question, quoted = answerable()
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(harness.engine, "ask", broken)
    inter = harness.fake.slash(harness.gid, harness.member, "ask", {"question": "anything"})
    reply = harness.fake.wait_reply(inter)
    assert "something went wrong" in reply["content"] and "disk on fire" not in reply["content"]
    monkeypatch.undo()
    _, reply = harness.ask(question)
    assert quoted in embed_of(reply)["description"]


def test_direct_messages_are_refused_without_a_dm_namespace(harness):
    inter = harness.fake.slash(None, harness.member, "ask", {"question": SEED_QUESTION})
    harness.fake.wait_until(lambda: inter.response, 10, "the refusal")
    assert "only answer in servers" in inter.original["content"]


def test_the_token_never_appears_in_logs(harness, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(harness.engine, "ask", broken)  # a failing command, so that a traceback is logged
    harness.fake.wait_reply(harness.fake.slash(harness.gid, harness.member, "ask", {"question": "anything"}))
    assert harness.log.lines, "discord.py logged at DEBUG"
    assert not [line for line in harness.log.lines if harness.fake.token in line]
    assert any("Traceback" in line or "disk on fire" in line for line in harness.log.lines), \
        "the failing command's traceback was logged"


def test_a_dropped_gateway_connection_resumes(harness):
    question, quoted = answerable()
    harness.fake.call(harness.fake.drop_connection())
    harness.fake.wait_until(lambda: harness.fake.resumes >= 1 and harness.fake.ready.is_set(), 60, "RESUME")
    assert harness.fake.identifies == 1, "resumed, not re-identified"
    _, reply = harness.ask(question)
    assert quoted in embed_of(reply)["description"]


def restarted(h: Harness, settings: BotSettings | None = None) -> None:
    """Stop the bot and start a new one on the same engine, data directory and Discord."""
    h.runner.stop()
    h.fake.ready.clear()
    h.runner = ClientThread(h.fake, lambda **options: NewsBot(h.engine, settings or h.settings, **options))
    h.runner.start()


@pytest.fixture
def own_harness(tmp_path, cache_dir):
    """A bot of its own, for tests that restart it or change its settings."""
    engine = Engine(make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir))
    h = Harness(engine, BotSettings(token="unused", ask_rate=1000, health_interval_s=0.5))
    yield h
    h.stop()
    engine.close()


def test_buttons_and_follow_ups_keep_working_after_a_restart(own_harness):
    h = own_harness.start()
    question, quoted = answerable()
    inter, reply = h.ask(question)
    restarted(h)
    click = h.fake.click(inter, h.member, "Show passages", reply)
    h.fake.wait_until(lambda: click.response, 30, "the passages after a restart")
    assert quoted in click.original["content"]
    vote = h.fake.click(inter, h.member, "👎", reply)
    h.fake.wait_until(lambda: vote.response, 30, "the vote after a restart")
    assert h.bot.feedback.read()[-1]["question"] == question and h.bot.feedback.read()[-1]["vote"] == "down"
    n = len(h.fake.channel_messages)
    h.fake.mention(h.gid, h.member, "and in which county?", reply_to=reply)
    follow = h.fake.wait_until(lambda: len(h.fake.channel_messages) > n and h.fake.channel_messages[n], 60, "a follow-up")
    assert follow["embeds"][0]["title"] == "and in which county?"
    assert h.crashed is None and h.fake.unknown_routes == []


def test_servers_not_on_the_allow_list_are_told_why_and_left(own_harness):
    h = own_harness
    allowed = BotSettings(token="unused", ask_rate=1000, guilds=frozenset({int(h.gid)}))
    h.settings = allowed
    h.runner = ClientThread(h.fake, lambda **options: NewsBot(h.engine, allowed, **options))
    h.start()
    h.fake.wait_until(lambda: h.fake.left_guilds == [h.other_gid], 30, "leaving the other server")
    farewell = [m for m in h.fake.channel_messages if m["channel_id"] == h.other["channels"][0]["id"]]
    assert len(farewell) == 1 and "NEWSBOT_GUILDS" in farewell[0]["content"] and h.other_gid in farewell[0]["content"]
    intruder = h.fake.join_guild("Uninvited", [{"user": h.admin, "permissions": FakeDiscord.ADMIN}])
    h.fake.wait_until(lambda: intruder["id"] in h.fake.left_guilds, 30, "leaving a server that invited it")
    left = h.fake.wait_until(lambda: [e for e in audit.read(h.engine.settings.data_dir, f"guild-{intruder['id']}")
                                      if e["action"] == "leave"], 30, "the audit line of the leave")
    assert left[0]["reason"] == "not in NEWSBOT_GUILDS"
    question, quoted = answerable()
    assert quoted in embed_of(h.ask(question)[1])["description"], "the allowed server is served"
    assert h.crashed is None and h.fake.unknown_routes == []


def test_mentions_are_answered_only_in_the_configured_channels(own_harness):
    h = own_harness
    general = int(h.guild["channels"][0]["id"])
    only_general = BotSettings(token="unused", ask_rate=1000, channels=frozenset({general}))
    h.settings = only_general
    h.runner = ClientThread(h.fake, lambda **options: NewsBot(h.engine, only_general, **options))
    h.start()
    random_channel = h.fake.add_channel(h.gid, "random")
    question, quoted = answerable()
    ignored = h.fake.mention(h.gid, h.member, question, channel_id=random_channel["id"])
    answered = h.fake.mention(h.gid, h.member, question)
    reply = h.fake.wait_until(lambda: [m for m in h.fake.channel_messages if m["author"]["id"] == h.fake.app_id], 60,
                              "the answer in #general")
    assert len(reply) == 1 and reply[0]["channel_id"] == answered["channel_id"] and quoted in reply[0]["embeds"][0]["description"]
    assert not [m for m in h.fake.channel_messages if m["channel_id"] == ignored["channel_id"] and m is not ignored]


def test_the_commands_are_cogs_loaded_by_name_and_their_loops_stop_with_the_bot(own_harness):
    h = own_harness.start()
    bot = h.bot
    assert set(bot.cogs) == {"Asking", "Library", "Admin", "Feeds"}
    assert set(bot.extensions) == {"newsbot.bot.cogs.asking", "newsbot.bot.cogs.library", "newsbot.bot.cogs.admin",
                                   "newsbot.bot.cogs.feeds"}
    poller = bot.get_cog("Feeds").poller
    assert poller.is_running() and poller.seconds == h.settings.feed_check_s
    assert bot.report_health.is_running() and bot.report_health.seconds == h.settings.health_interval_s
    h.runner.stop()
    assert not poller.is_running() and not bot.report_health.is_running()
