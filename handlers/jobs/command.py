"""The `/job` (`/auftrag`) staff command and its subcommands.

new/neu, assign/zuweisen, close/abschliessen (confirmed first), show/zeige, list/liste,
report/bericht, sign/unterschrift, send/senden. Creating and changing jobs is for admin
and office; fitters may look at, report on, request signatures for and send photos of
the jobs they are assigned to.
"""

from __future__ import annotations

from werkbot.bot.addresses import Address, AddressError
from werkbot.bot.context import Context
from werkbot.bot.replies import MediaReply, TextReply
from werkbot.bot.settings import StaffSettings
from werkbot.bot.storage.models import Person
from werkbot.handlers.commands import EVERY_ROLE, UsageError, commands
from werkbot.handlers.jobs import paperwork
from werkbot.handlers.jobs.files_repo import JobFilesRepo
from werkbot.handlers.jobs.images import without_gps
from werkbot.handlers.jobs.models import CLOSED, Job, JobMedia
from werkbot.handlers.jobs.repo import JobsRepo, as_code
from werkbot.handlers.office.store import ConversationsRepo
from werkbot.handlers.staff_roles import staff_of

SUBCOMMANDS = {
    "new": "new", "neu": "new", "assign": "assign", "zuweisen": "assign",
    "close": "close", "abschliessen": "close", "show": "show", "zeige": "show",
    "list": "list", "liste": "list", "report": "report", "bericht": "report",
    "sign": "sign", "unterschrift": "sign", "send": "send", "senden": "send",
}
MANAGE = frozenset({"new", "assign", "close"})
_CUSTOMER_KEYS = ("kunde:", "customer:")
_SITE_KEYS = ("ort:", "site:", "adresse:")


def _confirm(args: tuple[str, ...]) -> bool:
    return bool(args) and SUBCOMMANDS.get(args[0].lower()) == "close"


async def _may_close(args: tuple[str, ...], ctx: Context) -> None:
    """Before `close` asks for confirmation: the sender may close jobs, the job exists."""
    staff = _allowed(args, ctx)
    await _job_arg(args[1:], ctx, staff)


def _allowed(args: tuple[str, ...], ctx: Context) -> StaffSettings:
    staff = staff_of(ctx)
    if not args or staff is None:
        raise UsageError("missing", what=ctx.t("jobs.what.action"))
    action = SUBCOMMANDS.get(args[0].lower())
    if action is None:
        raise UsageError("unknown_action", action=args[0])
    if action in MANAGE and not {"admin", "office"} & set(staff.roles):
        raise UsageError("jobs.errors.not_allowed", action=args[0])
    return staff


@commands.command("job", aliases=("auftrag",), roles=EVERY_ROLE, help_key="jobs.help.job",
                  confirm=_confirm, precheck=_may_close)
async def job_command(args: tuple[str, ...], ctx: Context) -> None:
    staff = _allowed(args, ctx)
    action = SUBCOMMANDS[args[0].lower()]
    rest = args[1:]
    if action == "new":
        await _new(rest, ctx, staff)
    elif action == "list":
        await _list(ctx, staff)
    else:
        job = await _job_arg(rest, ctx, staff)
        await {"assign": _assign, "close": _close, "show": _show, "report": _report,
               "sign": _sign, "send": _send}[action](job, rest[1:], ctx, staff)


async def _job_arg(rest: tuple[str, ...], ctx: Context, staff: StaffSettings) -> Job:
    if not rest:
        raise UsageError("missing", what=ctx.t("jobs.what.code"))
    code = as_code(rest[0])
    jobs = ctx.repo(JobsRepo)
    job = await jobs.job_by_code(code) if code else None
    if job is None:
        raise UsageError("jobs.errors.unknown_code", code=rest[0])
    if not {"admin", "office"} & set(staff.roles) and staff.id not in await jobs.staff_of_job(
            job.id):
        raise UsageError("jobs.errors.not_yours", code=job.code)
    return job


def _staff_ids(words: list[str], ctx: Context) -> list[str]:
    ids = [w[1:] for w in words if w.startswith("@")]
    for staff_id in ids:
        if ctx.settings.staff_by_id(staff_id) is None:
            raise UsageError("unknown_staff", staff=staff_id)
    return ids


async def _customer(value: str, ctx: Context) -> Person:
    candidates: list[Address] = []
    try:
        if ":" in value:
            candidates.append(Address.parse(value))
        else:
            candidates += [Address.of(ch, value) for ch in ("whatsapp", "sms", "telegram")]
    except AddressError:
        raise UsageError("bad_value", value=value, why=ctx.t("jobs.errors.not_address")) from None
    for address in candidates:
        found = await ctx.people.by_address(address)
        if found is not None and found[0].kind == "customer":
            return found[0]
    raise UsageError("jobs.errors.unknown_customer", value=value)


async def _replied_customer(ctx: Context) -> Person | None:
    """The customer whose forwarded message this command replies to, if any."""
    conv = await ctx.repo(ConversationsRepo).by_reply(ctx.event.reply_to)
    person = await ctx.people.get(conv.person_id) if conv is not None else None
    return person if person is not None and person.kind == "customer" else None


async def _new(rest: tuple[str, ...], ctx: Context, staff: StaffSettings) -> None:
    words, customer, site = [], None, ""
    for word in rest:
        low = word.lower()
        if low.startswith(_CUSTOMER_KEYS):
            customer = await _customer(word.split(":", 1)[1], ctx)
        elif low.startswith(_SITE_KEYS):
            site = word.split(":", 1)[1]
        else:
            words.append(word)
    if customer is None and ctx.event.reply_to:  # `/job new` as a reply to a forward
        customer = await _replied_customer(ctx)
    staff_ids = _staff_ids(words, ctx)
    title = " ".join(w for w in words if not w.startswith("@")).strip()
    if not title:
        raise UsageError("missing", what=ctx.t("jobs.what.title"))
    job = await ctx.repo(JobsRepo).create_job(
        ctx.settings, title=title, now=ctx.clock.now(),
        customer_id=customer.id if customer else None, site=site, created_by=staff.id,
        staff_ids=staff_ids)
    await ctx.reply(TextReply(kind="job_created", text=ctx.t(
        "jobs.created", code=job.code, title=job.title, staff=_names(staff_ids, ctx))))
    await _tell_assigned(ctx, job, staff_ids, staff)


def _names(staff_ids: list[str], ctx: Context) -> str:
    names = [s.name for i in staff_ids if (s := ctx.settings.staff_by_id(i)) is not None]
    return ", ".join(names) or ctx.t("jobs.nobody")


async def _tell_assigned(ctx: Context, job: Job, staff_ids: list[str],
                         by: StaffSettings) -> None:
    for staff_id in staff_ids:
        person = await ctx.people.by_staff_id(staff_id)
        member = ctx.settings.staff_by_id(staff_id)
        if person is None or member is None or staff_id == by.id:
            continue
        text = ctx.texts.get("jobs.assigned_you", member.language, code=job.code,
                             title=job.title, site=job.site or "–")
        await ctx.send_to_person(person.id, TextReply(kind="job_assigned", text=text))


async def _assign(job: Job, rest: tuple[str, ...], ctx: Context, staff: StaffSettings) -> None:
    staff_ids = _staff_ids(list(rest), ctx)
    if not staff_ids:
        raise UsageError("missing", what=ctx.t("jobs.what.staff"))
    added = await ctx.repo(JobsRepo).assign(job, staff_ids, ctx.clock.now())
    await ctx.reply(ctx.t("jobs.assigned", code=job.code, staff=_names(staff_ids, ctx)))
    await _tell_assigned(ctx, job, added, staff)


async def _close(job: Job, rest: tuple[str, ...], ctx: Context, staff: StaffSettings) -> None:
    job.status, job.closed_at = CLOSED, ctx.clock.now()
    await ctx.reply(ctx.t("jobs.closed", code=job.code))


async def _show(job: Job, rest: tuple[str, ...], ctx: Context, staff: StaffSettings) -> None:
    jobs = ctx.repo(JobsRepo)
    count = await jobs.file_count(job.id)
    status = ctx.t(f"jobs.status.{job.status}")
    await ctx.reply(ctx.t("jobs.show", code=job.code, title=job.title, status=status,
                          site=job.site or "–", staff=_names(await jobs.staff_of_job(
                              job.id), ctx),
                          customer=ctx.t("jobs.yes" if job.customer_id else "jobs.no"),
                          count=count))


async def _list(ctx: Context, staff: StaffSettings) -> None:
    if ctx.person is None:
        return
    jobs = await ctx.repo(JobsRepo).open_jobs_for(ctx.person, staff)
    if not jobs:
        await ctx.reply(ctx.t("jobs.list_empty"))
        return
    lines = [f"#{j.code} {j.title}" for j in jobs[:30]]
    await ctx.reply(ctx.t("jobs.list_head", count=len(jobs)) + "\n" + "\n".join(lines))


async def _report(job: Job, rest: tuple[str, ...], ctx: Context, staff: StaffSettings) -> None:
    media_id = await paperwork.make_report(ctx, job)
    await ctx.reply(TextReply(kind="job_report", text=ctx.t(
        "jobs.report.ready", code=job.code, link=ctx.services.media.link(media_id))))


async def _sign(job: Job, rest: tuple[str, ...], ctx: Context, staff: StaffSettings) -> None:
    text = " ".join(rest).strip()
    if not text:
        raise UsageError("missing", what=ctx.t("jobs.what.sign_text"))
    if job.customer_id is None:
        raise UsageError("jobs.errors.no_customer", code=job.code)
    sent = await paperwork.request_signature(ctx, job, text, staff.id)
    await ctx.reply(ctx.t("jobs.sign.requested" if sent else "jobs.sign.unreachable",
                          code=job.code))


async def _send(job: Job, rest: tuple[str, ...], ctx: Context, staff: StaffSettings) -> None:
    """Staff photos reach the customer only here, on this explicit command."""
    if job.customer_id is None:
        raise UsageError("jobs.errors.no_customer", code=job.code)
    items = await ctx.repo(JobFilesRepo).unsent_staff_files(job.id)
    if not items:
        await ctx.reply(ctx.t("jobs.send.nothing", code=job.code))
        return
    customer = await ctx.people.get(job.customer_id)
    lang = customer.language if customer else ctx.settings.business.language
    caption = ctx.texts.get("jobs.send.caption", lang, code=job.code, title=job.title,
                            business=ctx.settings.business.name)
    media_ids = [await _without_position(ctx, item, job.customer_id) for item in items]
    reply = MediaReply(kind="job_photos_customer", media_ids=tuple(media_ids),
                       media_kinds=tuple(i.kind for i in items), caption=caption)
    if not await ctx.send_to_person(job.customer_id, reply):
        await ctx.reply(ctx.t("jobs.send.unreachable", code=job.code))
        return
    for item in items:
        item.sent_to_customer_at = ctx.clock.now()
    await ctx.reply(ctx.t("jobs.send.done", code=job.code, count=len(items)))


async def _without_position(ctx: Context, item: JobMedia, customer_id: int) -> int:
    """The media id to send the customer: a copy without GPS where the photo has it."""
    files = ctx.repo(JobFilesRepo)
    row = await files.media_row(item.media_id)  # this transaction's own session
    if item.kind != "image" or row is None:
        return item.media_id
    store = ctx.services.media
    cleaned = without_gps((store.directory / row.path).read_bytes(), row.content_type)
    if cleaned is None:
        return item.media_id
    copy = await files.save_media(store, cleaned, filename=row.filename,
                                  person_id=customer_id, now=ctx.clock.now())
    return copy.id


__all__ = ["job_command"]
