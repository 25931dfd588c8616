"""Files are read by content: text, Markdown, HTML, PDF, stdin, directories."""
from support.pdf_fixture import make_pdf

from conftest import run_cli
from newsbot.index.records import AddError

LINES = [
    "Jakarta's new flood tunnel opened on Monday after six years of construction.",
    "The tunnel can carry 60 cubic metres of water per second away from the city centre,",
    "the public works ministry said.",
]


def test_pdf_text_and_title_are_extracted(engine, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(LINES, title="Flood tunnel opens"))
    [result] = engine.add(engine.drafts_from_sources([str(path)]))
    assert result.status == "added", getattr(result, "message", "")
    article = engine.article(result.article.id)
    assert article.title == "Flood tunnel opens"
    assert "60 cubic metres of water per second away from the city centre, the public works ministry said." in article.text


def test_a_pdf_named_txt_is_still_read_as_pdf(engine, tmp_path):
    path = tmp_path / "misnamed.txt"
    path.write_bytes(make_pdf(LINES))
    [result] = engine.add(engine.drafts_from_sources([str(path)]))
    assert "%PDF" not in engine.article(result.article.id).text


def test_a_corrupt_pdf_is_a_clear_error(engine, tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"garbage " * 50)
    [result] = engine.add(engine.drafts_from_sources([str(path)]))
    assert isinstance(result, AddError) and "PDF" in result.message


def test_html_file_is_extracted_not_indexed_as_markup(engine, tmp_path):
    path = tmp_path / "page.html"
    path.write_text("<html><head><title>Rains flood Bekasi</title></head><body><nav>Home | World</nav><article>"
                    "<p>Heavy rain flooded thousands of homes in Bekasi on Tuesday, the disaster agency said.</p>"
                    "<p>Residents were evacuated by rubber boat to shelters in mosques and schools.</p>"
                    "</article></body></html>", encoding="utf-8")
    [result] = engine.add(engine.drafts_from_sources([str(path)]))
    article = engine.article(result.article.id)
    assert article.title == "Rains flood Bekasi"
    assert "<p>" not in article.text and "rubber boat" in article.text


def test_a_directory_is_read_recursively_skipping_unsupported_and_hidden_files(engine, tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a" / "one.txt").write_text("Bank Indonesia cut its benchmark rate to 5.75 percent on Wednesday.", encoding="utf-8")
    (tmp_path / "a" / "b" / "two.md").write_text("# Nickel\n\nIndonesia kept its ban on nickel ore exports, the ministry said.", encoding="utf-8")
    (tmp_path / "a" / "b" / "image.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (tmp_path / ".hidden" / "three.txt").write_text("This file is hidden and must not be indexed at all.", encoding="utf-8")
    results = engine.add(engine.drafts_from_sources([str(tmp_path)]))
    assert sorted(r.article.title for r in results) == [
        "Bank Indonesia cut its benchmark rate to 5.75 percent on Wednesday.", "Nickel"]


def test_stdin_with_options(settings):
    out = run_cli(["add", "-", "--title", "Minerals talks stall", "--source", "Sample Wire", "--published", "2025-02-23",
                   "--url", "https://news.example/minerals"], settings,
                  input="Talks on the minerals agreement stalled on Sunday, officials in Kyiv said.".encode())
    assert out.returncode == 0, out.stderr.decode()
    assert "Minerals talks stall" in out.stdout.decode()
    import json

    [listed] = json.loads(run_cli(["sources", "--json"], settings).stdout)
    assert (listed["title"], listed["source"], listed["published_at"], listed["url"]) == (
        "Minerals talks stall", "Sample Wire", "2025-02-23", "https://news.example/minerals")


def test_an_invalid_published_date_is_a_clear_error(settings):
    out = run_cli(["add", "-", "--published", "last tuesday"], settings, input=b"Some article text about the news today.")
    assert out.returncode == 1 and "not a date" in out.stderr.decode()
