"""HTTP test servers on 127.0.0.1: a realistic news site (`Handler`), quiet about aborted clients."""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE = (Path(__file__).parent.parent / "fixtures" / "news_page.html").read_bytes()
BOILERPLATE = ["cookies", "Subscribe", "All rights reserved", "borscht", "Privacy policy", "Most read"]


class Handler(BaseHTTPRequestHandler):
    routes = {
        "/world/ukraine-grain-insurance": (200, "text/html; charset=utf-8", PAGE),
        "/nav-only": (200, "text/html", b"<html><body><nav><a href='/'>Home</a></nav><footer>(c) 2025</footer></body></html>"),
        "/image.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
        "/huge": (200, "text/html", b"<html><body><p>" + b"word " * 400_000 + b"</p></body></html>"),
        "/gone": (404, "text/html", b"<html><body>not found</body></html>"),
        "/latin1": (200, "text/plain; charset=iso-8859-1",
                    "Caf\u00e9 owners in S\u00e3o Paulo protest new tax. The mayor's office said the levy would fund street repairs.".encode("latin-1")),
    }

    def do_GET(self):  # noqa: N802 (http.server API)
        if self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/world/ukraine-grain-insurance")
            self.end_headers()
            return
        if self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
            return
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that abort (the byte cap) are expected here
