"""Adding articles by URL from a real HTTP server on 127.0.0.1 serving realistic news HTML."""
import threading

import pytest

from newsbot.index.errors import FetchError, InputError
from newsbot.index.sources.fetch import fetch_url

from support.servers import BOILERPLATE, Handler, QuietServer


@pytest.fixture(scope="module")
def site():
    server = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_url_article_has_extracted_title_date_and_outlet(engine, site):
    [result] = engine.add(engine.drafts_from_sources([f"{site}/world/ukraine-grain-insurance"]))
    assert result.status == "added"
    article = engine.article(result.article.id)
    assert article.title == "Ukraine's parliament backs grain export insurance fund"
    assert article.published_at == "2025-02-26"
    assert article.source == "Harbour Times"
    assert article.url == f"{site}/world/ukraine-grain-insurance"
    assert article.lang == "en"
    assert "20 billion hryvnias" in article.text


@pytest.mark.model
def test_boilerplate_is_not_indexed(engine, site):
    [result] = engine.add(engine.drafts_from_sources([f"{site}/world/ukraine-grain-insurance"]))
    store = engine.store()
    chunk_text = " ".join(text for _, text, _ in store.iter_chunks())
    for junk in BOILERPLATE:
        assert junk not in chunk_text
    answer = engine.ask("How much money does Ukraine's grain insurance fund start with?")
    assert answer.citations[0].article_id == result.article.id


def test_same_url_twice_is_a_duplicate(engine, site):
    url = f"{site}/world/ukraine-grain-insurance"
    engine.add(engine.drafts_from_sources([url]))
    [again] = engine.add(engine.drafts_from_sources([url]))
    assert again.status == "duplicate"


def test_redirect_is_followed_and_the_final_url_recorded(engine, site):
    [result] = engine.add(engine.drafts_from_sources([f"{site}/moved"]))
    assert result.status == "added"
    assert result.article.url.endswith("/world/ukraine-grain-insurance")


def test_declared_charset_is_used(site):
    draft = fetch_url(f"{site}/latin1", allow_loopback=True)
    assert "Café owners in São Paulo" in draft.text


@pytest.mark.parametrize(
    "path, message",
    [
        ("/nav-only", "no text"),
        ("/image.png", "unsupported content type"),
        ("/gone", "HTTP 404"),
        ("/loop", "redirects"),
    ],
)
def test_bad_urls_give_clear_errors(engine, site, path, message):
    [result] = engine.add(engine.drafts_from_sources([f"{site}{path}"]))
    assert result.__class__.__name__ == "AddError"
    assert message in result.message
    assert engine.sources() == []


def test_download_is_capped(site):
    with pytest.raises(FetchError, match="larger than"):
        fetch_url(f"{site}/huge", max_bytes=100_000, allow_loopback=True)


def test_unreachable_host_is_a_clear_error():
    with pytest.raises(FetchError, match="cannot fetch|timed out"):
        fetch_url("http://127.0.0.1:9/nothing", timeout_s=3, allow_loopback=True)


def test_non_http_scheme_is_refused():
    with pytest.raises((FetchError, InputError)):
        fetch_url("file:///etc/passwd")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
    "http://10.0.0.5/", "http://192.168.1.1/", "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/", "http://224.0.0.1/", "http://[fe80::1]/", "http://[fc00::1]/",
])
def test_urls_to_non_public_addresses_are_refused_before_connecting(url):
    with pytest.raises(FetchError, match="not a public address"):
        fetch_url(url, timeout_s=3)


def test_loopback_is_refused_by_default_even_for_a_real_page(site):
    with pytest.raises(FetchError, match="not a public address"):
        fetch_url(f"{site}/world/ukraine-grain-insurance")


def test_a_redirect_to_a_private_address_is_refused(site):
    with pytest.raises(FetchError, match="169.254.169.254.*not a public address"):
        fetch_url(f"{site}/to-metadata", allow_loopback=True)


def test_the_engine_refuses_loopback_unless_the_setting_allows_it(settings, site):
    from dataclasses import replace as dc_replace

    from newsbot.index.engine import Engine

    with Engine(dc_replace(settings, allow_loopback_urls=False)) as engine:
        [result] = engine.add(engine.drafts_from_sources([f"{site}/world/ukraine-grain-insurance"]))
        assert result.__class__.__name__ == "AddError" and "not a public address" in result.message


def test_https_connects_to_the_checked_address_with_the_original_name_for_tls():
    """The connection is pinned to the resolved IP; the certificate is still checked for the host name."""
    import ssl

    import trustme

    ca = trustme.CA()
    server = QuietServer(("127.0.0.1", 0), Handler)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client_ctx = ssl.create_default_context()
        ca.configure_trust(client_ctx)
        url = f"https://localhost:{server.server_address[1]}/world/ukraine-grain-insurance"
        draft = fetch_url(url, allow_loopback=True, verify=client_ctx, timeout_s=10)
        assert draft.title == "Ukraine's parliament backs grain export insurance fund"
        with pytest.raises(FetchError, match="cannot fetch"):  # a name the certificate does not cover
            fetch_url(url.replace("localhost", "127.0.0.1"), allow_loopback=True, verify=client_ctx, timeout_s=10)
    finally:
        server.shutdown()
