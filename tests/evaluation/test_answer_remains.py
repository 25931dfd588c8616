"""A leave-gold-out question is still answerable when an article it retrieved states its answer."""
from newsbot.index.evaluation.remains import answer_remains, states_answer


def test_an_answer_counts_as_whole_words_whatever_its_case_and_spacing():
    assert states_answer("The meal kit service  DAILY Harvest said it received 470 reports.", ["Daily Harvest"])
    assert states_answer("Harga turun menjadi Rp 800,8 triliun.", ["rp 800,8 triliun"])


def test_an_answer_inside_a_longer_word_or_number_does_not_count():
    assert not states_answer("Prices peaked at $5.01 on June 14.", ["$5"])
    assert not states_answer("Sejak 2010 dan 10,5 persen", ["10"])
    assert not states_answer("Europeans arrived", ["Europe"])


def test_a_question_with_no_answer_string_never_counts():
    assert not states_answer("anything at all", [])
    assert not states_answer("anything at all", ["", "  "])


def test_only_the_articles_the_question_retrieved_are_read():
    texts = {"a": "Sri Lanka's president fled the country.", "b": "Nothing of the kind here."}
    assert answer_remains(["Sri Lanka"], ["b", "a"], texts)
    assert not answer_remains(["Sri Lanka"], ["b"], texts)
    assert not answer_remains(["Sri Lanka"], ["gone-article"], texts)
