"""The signing pages: GET shows the text, checkboxes and a signature pad; POST records it.

`/consent/{token}` serves consent requests, `/sign/{token}` every other kind. On the
consent page the consents the person has already given are ticked (and marked so), new
ones never are; unticking a given one withdraws it, after a confirmation on the page
(the box "yes, withdraw" appears; without it the server asks again). The token
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
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.media import sniff
from werkbot.bot.server import SERVICES
from werkbot.bot.services import Services
from werkbot.handlers.consent.ledger import granted_in, load_current
from werkbot.handlers.rights.html import esc, message_page, not_found, render
from werkbot.handlers.rights.models import SigningRequest
from werkbot.handlers.rights.signing import CONSENT, complete_request, load_request

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 768 * 1024
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIDE = 4000
_PNG_PREFIX = "data:image/png;base64,"


class SignatureError(Exception):
    def __init__(self, key: str, status: int) -> None:
        super().__init__(key)
        self.key, self.status = key, status


Pair = tuple[str, str]  # (channel, purpose)


async def given_consents(session: AsyncSession, request: SigningRequest) -> frozenset[Pair]:
    """The offered (channel, purpose) pairs the person currently consents to."""
    if request.kind != CONSENT or request.person_id is None:
        return frozenset()
    state = await load_current(session, request.person_id)
    return frozenset(pair for pair in request.choices()
                     if granted_in(state, pair[1], pair[0]))


def _page(services: Services, request: SigningRequest, *, status: int = 200,
          error: str = "", given: frozenset[Pair] = frozenset(),
          ticked: frozenset[Pair] | None = None) -> web.Response:
    lang, texts = request.language, services.texts

    def t(key: str, **values: object) -> str:
        return esc(texts.get(f"rights.page.{key}", lang, **values))

    shown = given if ticked is None else ticked
    rows = []
    for channel, purpose in request.choices():
        name = f"c:{channel}:{purpose}"
        label = texts.get("rights.page.choice", lang,
                          channel=texts.get(f"rights.channels.{channel}", lang),
                          purpose=texts.get(f"rights.purposes.{purpose}", lang))
        checked = " checked" if (channel, purpose) in shown else ""
        mark = (f' data-given="1"> <span>{esc(label)} <em class="given">{t("given")}</em>'
                if (channel, purpose) in given else f"> <span>{esc(label)}")
        rows.append(f'<label class="choice"><input type="checkbox" name="{esc(name)}" '
                    f'value="1"{checked}{mark}</span></label>')
    choices = (f"<fieldset><legend>{t('choices')}</legend>{''.join(rows)}</fieldset>"
               if rows else "")
    if given:
        hidden = "" if error == "confirm_withdraw" else " hidden"
        choices += (f'<div class="withdraw" id="withdraw"{hidden}><p>{t("withdraw")}</p>'
                    f'<label class="choice"><input type="checkbox" name="withdraw_ok" '
                    f'value="1"> <span>{t("withdraw_ok")}</span></label></div>')
    title = request.title or texts.get("rights.page.title", lang)
    intro = "intro" if request.choices() else "intro_sign"
    return render("sign.html", status, lang=esc(lang), title=esc(title),
                  intro=t(intro, business=services.settings.business.name),
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
            return _page(services, request, given=await given_consents(session, request))

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
            given = await given_consents(session, request)
            try:
                form = await _read_form(req)
            except SignatureError as exc:
                return _page(services, request, status=exc.status, error=exc.key, given=given)
            offered = set(request.choices())
            ticked: frozenset[Pair] = frozenset(
                (pair[0], pair[1]) for key in form if key.startswith("c:")
                for pair in [tuple(key.split(":", 2)[1:])]
                if len(pair) == 2 and pair in offered)
            withdrawn = given - ticked
            again = {"given": given, "ticked": ticked}
            try:
                png = signature_png(str(form.get("signature", "")))
            except SignatureError as exc:
                return _page(services, request, status=exc.status, error=exc.key, **again)
            if offered and not ticked and not withdrawn:
                return _page(services, request, status=400, error="no_choice", **again)
            if withdrawn and form.get("withdraw_ok") != "1":
                return _page(services, request, status=400, error="confirm_withdraw", **again)
            await complete_request(session, services, request, ticked, png,
                                   withdrawn=withdrawn)
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
