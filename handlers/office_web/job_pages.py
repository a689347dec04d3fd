"""Jobs in the browser: list, detail with the photo gallery, create, assign, close, the
photo report PDF and signing requests.

Every change runs the chat command `/job` itself (`jobs.command.job_command`) in a web
context, so the rules are the chat's: office and admin create, assign and close; a
fitter sees and works on the jobs they are assigned to. What the command would answer
in chat is shown on the page; a usage error is shown with its reason.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from werkbot.bot.storage.models import AddressRow, MediaRow, Person
from werkbot.handlers.commands import UsageError
from werkbot.handlers.jobs import paperwork
from werkbot.handlers.jobs.command import job_command
from werkbot.handlers.jobs.models import OPEN, Job, JobMedia, JobStaff
from werkbot.handlers.jobs.repo import JobsRepo
from werkbot.handlers.office_web.acting import WebContext, web_context
from werkbot.handlers.office_web.guard import Call, office_page, see_other
from werkbot.handlers.staff_roles import OFFICE_ROLES

LIST_LENGTH = 100


async def _run(call: Call, ctx: WebContext, *args: str) -> bool:
    """`/job <args>` as the signed-in staff member; False if the command refused."""
    try:
        await job_command(tuple(args), ctx)
    except UsageError as exc:
        key = exc.key if "." in exc.key else f"commands.errors.{exc.key}"
        call.flash(ctx.t(key, **exc.values))
        return False
    call.flash(*ctx.notices)
    if ctx.sent:
        call.after_commit.append(call.services.wake_outbox)
    await call.audit(f"job_{args[0]}", detail=" ".join(a for a in args[1:2]))
    return True


async def _visible_job(call: Call) -> Job:
    job = await call.session.get(Job, call.int_arg("job"))
    if job is None:
        raise web.HTTPNotFound(text="not found")
    if not call.viewer.is_office and call.viewer.staff.id not in await JobsRepo(
            call.session).staff_of_job(job.id):
        raise web.HTTPNotFound(text="not found")
    return job


def _fitters(call: Call) -> list[tuple[str, str]]:
    return [(s.id, s.name or s.id) for s in call.services.settings.staff if "fitter" in s.roles]


def _names(call: Call, staff_ids: list[str]) -> list[str]:
    return [(found.name or found.id) if (found := call.services.settings.staff_by_id(i))
            else i for i in staff_ids]


@office_page()
async def jobs(call: Call) -> web.StreamResponse:
    query = select(Job).order_by(Job.status != OPEN, Job.id.desc()).limit(LIST_LENGTH)
    if not call.viewer.is_office:
        query = query.where(Job.id.in_(select(JobStaff.job_id).where(
            JobStaff.staff_id == call.viewer.staff.id)))
    rows = (await call.session.scalars(query)).all()
    assigned = {job.id: _names(call, await JobsRepo(call.session).staff_of_job(job.id))
                for job in rows}
    return call.page("jobs.html", jobs=rows, assigned=assigned, fitters=_fitters(call))


@office_page()
async def job(call: Call) -> web.StreamResponse:
    row = await _visible_job(call)
    media = (await call.session.execute(
        select(JobMedia, MediaRow).join(MediaRow, MediaRow.id == JobMedia.media_id)
        .where(JobMedia.job_id == row.id).order_by(JobMedia.captured_at, JobMedia.id))).all()
    customer = await call.session.get(Person, row.customer_id) if row.customer_id else None
    await call.audit("job_view", subject=f"job:{row.code}")
    return call.page("job.html", job=row, media=media, customer=customer,
                     assigned=_names(call, await JobsRepo(call.session).staff_of_job(row.id)),
                     fitters=_fitters(call))


@office_page(roles=OFFICE_ROLES, form=True)
async def create(call: Call) -> web.StreamResponse:
    """A new job; from a conversation it is the customer's (their first address)."""
    title = " ".join(call.form.get("title", "").split())[:200]
    fitters = [f"@{key[2:]}" for key in call.form if key.startswith("f:")]
    args = ["new", *title.split(), *fitters]
    back = "/office/jobs"
    person_id = call.form.get("person", "")
    if person_id.isdigit():
        address = await call.session.scalar(
            select(AddressRow.address).where(AddressRow.person_id == int(person_id))
            .order_by(AddressRow.position, AddressRow.id).limit(1))
        if address is not None:
            args.append(f"kunde:{address}")
            back = f"/office/c/{int(person_id)}"
    ctx = await web_context(call.session, call.services, call.viewer.staff)
    await _run(call, ctx, *args)
    return see_other(back)


@office_page(roles=OFFICE_ROLES, form=True)
async def assign(call: Call) -> web.StreamResponse:
    row = await _visible_job(call)
    fitters = [f"@{key[2:]}" for key in call.form if key.startswith("f:")]
    ctx = await web_context(call.session, call.services, call.viewer.staff)
    await _run(call, ctx, "assign", row.code, *fitters)
    return see_other(f"/office/jobs/{row.id}")


@office_page(roles=OFFICE_ROLES, form=True)
async def close(call: Call) -> web.StreamResponse:
    row = await _visible_job(call)
    if call.form.get("confirm") != "yes":
        call.flash(call.t("confirm_needed"))
        return see_other(f"/office/jobs/{row.id}")
    ctx = await web_context(call.session, call.services, call.viewer.staff)
    await _run(call, ctx, "close", row.code)
    return see_other(f"/office/jobs/{row.id}")


@office_page(form=True)
async def sign(call: Call) -> web.StreamResponse:
    row = await _visible_job(call)
    text = call.form.get("text", "").strip()[:1000]
    ctx = await web_context(call.session, call.services, call.viewer.staff)
    await _run(call, ctx, "sign", row.code, *text.split())
    return see_other(f"/office/jobs/{row.id}")


@office_page(form=True)
async def report(call: Call) -> web.StreamResponse:
    """The photo report PDF, made as `/job report` makes it, as a download."""
    row = await _visible_job(call)
    ctx = await web_context(call.session, call.services, call.viewer.staff)
    media_id = await paperwork.make_report(ctx, row)
    stored = await call.session.get(MediaRow, media_id)
    assert stored is not None
    await call.audit("job_report", subject=f"job:{row.code}")
    data = (call.services.media.directory / stored.path).read_bytes()
    return web.Response(body=data, content_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="report-{row.code}.pdf"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@office_page(roles=OFFICE_ROLES, form=True)
async def link_customer(call: Call) -> web.StreamResponse:
    """Assign a conversation to an open job that has no customer yet."""
    person = await call.customer()
    job_row = await call.session.get(Job, int(call.form.get("job", "0") or 0)
                                     if call.form.get("job", "").isdigit() else 0)
    if job_row is None or job_row.customer_id is not None or job_row.status != OPEN:
        call.flash(call.t("job_not_linkable"))
    else:
        job_row.customer_id = person.id
        await call.audit("job_link", subject=f"person:{person.id}", detail=job_row.code)
        call.flash(call.t("job_linked", code=job_row.code))
    return see_other(f"/office/c/{person.id}")
