"""The signing pages: GET shows the text, checkboxes and a signature pad; POST records it.

`/consent/{token}` serves consent requests, `/sign/{token}` every other kind. The token
is the capability (a cross-site form cannot know it); a POST whose Origin names another
site is refused as well. Bodies over `MAX_FORM_BYTES` get 413, a signature over
`MAX_SIGNATURE_BYTES` 413, one that is not a drawn PNG 400, each with a message.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from urllib.parse import urlsplit

from aiohttp import web

from werkbot.bot.media import sniff
from werkbot.bot.server import SERVICES
from werkbot.bot.services import Services
from werkbot.handlers.rights.html import esc, message_page, not_found, render
from werkbot.handlers.rights.models import SigningRequest
from werkbot.handlers.rights.signing import complete_request, load_request

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 768 * 1024
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIDE = 4000
_PNG_PREFIX = "data:image/png;base64,"


class SignatureError(Exception):
    def __init__(self, key: str, status: int) -> None:
        super().__init__(key)
        self.key, self.status = key, status


def _page(services: Services, request: SigningRequest, *, status: int = 200,
          error: str = "", ticked: frozenset[tuple[str, str]] = frozenset()) -> web.Response:
    lang, texts = request.language, services.texts

    def t(key: str, **values: object) -> str:
        return esc(texts.get(f"rights.page.{key}", lang, **values))

    rows = []
    for channel, purpose in request.choices():
        name = f"c:{channel}:{purpose}"
        label = texts.get("rights.page.choice", lang,
                          channel=texts.get(f"rights.channels.{channel}", lang),
                          purpose=texts.get(f"rights.purposes.{purpose}", lang))
        checked = " checked" if (channel, purpose) in ticked else ""
        rows.append(f'<label class="choice"><input type="checkbox" name="{esc(name)}" '
                    f'value="1"{checked}> <span>{esc(label)}</span></label>')
    choices = (f"<fieldset><legend>{t('choices')}</legend>{''.join(rows)}</fieldset>"
               if rows else "")
    title = request.title or texts.get("rights.page.title", lang)
    return render("sign.html", status, lang=esc(lang), title=esc(title),
                  intro=t("intro", business=services.settings.business.name),
                  text=esc(request.text), version=t("version", version=request.text_version),
                  choices=choices, sign_here=t("sign_here"), clear=t("clear"),
                  submit=t("submit"), empty=t("errors.no_signature"),
                  error=esc(texts.get(f"rights.page.errors.{error}", lang)) if error else "")


def page_handlers(kind: str) -> tuple[web.RouteDef, web.RouteDef]:
    """GET and POST routes for `/{kind}/{token}`."""

    async def show(req: web.Request) -> web.StreamResponse:
        services = req.app[SERVICES]
        async with services.db.session() as session:
            request = await load_request(session, services, kind, req.match_info["token"])
            if request is None:
                return not_found()
            if request.completed_at is not None:
                return _done_page(services, request, "already")
            return _page(services, request)

    async def submit(req: web.Request) -> web.StreamResponse:
        services = req.app[SERVICES]
        token = req.match_info["token"]
        if services.signer.verify(kind, token, services.clock.now()) is None:
            return not_found()
        if not _same_origin(req, services):
            return web.Response(text="forbidden", status=403)
        async with services.db.session() as session:
            request = await load_request(session, services, kind, token)
            if request is None:
                return not_found()
            if request.completed_at is not None:
                return _done_page(services, request, "already", status=409)
            try:
                form = await _read_form(req)
                png = signature_png(str(form.get("signature", "")))
            except SignatureError as exc:
                return _page(services, request, status=exc.status, error=exc.key)
            offered = set(request.choices())
            ticked = frozenset(pair for key in form if key.startswith("c:")
                               for pair in [tuple(key.split(":", 2)[1:])]
                               if len(pair) == 2 and pair in offered)
            if offered and not ticked:
                return _page(services, request, status=400, error="no_choice")
            await complete_request(session, services, request, ticked, png)
            log.info("signing request %s completed (%s)", request.id, request.kind)
            return _done_page(services, request, "done")

    return web.get(f"/{kind}/{{token}}", show), web.post(f"/{kind}/{{token}}", submit)


def _done_page(services: Services, request: SigningRequest, key: str,
               status: int = 200) -> web.Response:
    link = (services.media.link(request.receipt_media_id)
            if request.receipt_media_id is not None else "")
    return message_page(services.texts, request.language, key, status, link=link,
                        link_label=services.texts.get("rights.pages.receipt_link",
                                                      request.language))


async def _read_form(req: web.Request) -> dict[str, str]:
    if req.content_length is not None and req.content_length > MAX_FORM_BYTES:
        raise SignatureError("too_large", 413)
    try:
        form = await req.clone(client_max_size=MAX_FORM_BYTES).post()
    except web.HTTPRequestEntityTooLarge:
        raise SignatureError("too_large", 413) from None
    except ValueError:
        raise SignatureError("bad_signature", 400) from None
    return {k: v for k, v in form.items() if isinstance(v, str)}


def signature_png(data_url: str) -> bytes:
    """The PNG bytes of a drawn signature, or `SignatureError` saying what is wrong."""
    if not data_url:
        raise SignatureError("no_signature", 400)
    if not data_url.startswith(_PNG_PREFIX):
        raise SignatureError("bad_signature", 400)
    encoded = data_url[len(_PNG_PREFIX):]
    if len(encoded) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise SignatureError("too_large", 413)
    try:
        png = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("bad_signature", 400) from None
    if sniff(png) != "image/png":
        raise SignatureError("bad_signature", 400)
    from PIL import Image, UnidentifiedImageError  # loaded when someone signs

    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.width > MAX_SIDE or image.height > MAX_SIDE:
                raise SignatureError("bad_signature", 400)
            image.load()
            alpha = image.convert("RGBA").getchannel("A")
            ink = image.convert("L").point(lambda v: 255 if v < 200 else 0)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise SignatureError("bad_signature", 400) from None
    transparent_pad = alpha.getextrema()[0] == 0
    drawn = alpha.getbbox() if transparent_pad else ink.getbbox()
    if drawn is None:
        raise SignatureError("no_signature", 400)
    return png


def _same_origin(req: web.Request, services: Services) -> bool:
    origin = req.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    allowed = {req.host, urlsplit(services.settings.server.public_url).netloc}
    return urlsplit(origin).netloc in allowed
