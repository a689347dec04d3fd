"""The repositories of jobs, emergency and office: the one way their handlers reach storage.

Handlers get a repository with `ctx.repo(Kind)`; the SQL lives in the repository modules.
The first test holds the three packages to that; the others check what the job queries
return, as a staff member would see it in `/job list` and `/job show`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.jobs.conftest import customer
from werkbot.bot.addresses import Address
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.bot.testing import Harness
from werkbot.handlers.jobs.repo import JobsRepo

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
PACKAGES = ("jobs", "emergency", "office")
REPOSITORY_MODULES = {"repo.py", "files_repo.py", "store.py", "models.py"}
SQL_NAMES = {"select", "insert", "update", "delete", "func"}


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr == "session"
                and isinstance(node.value, ast.Name) and node.value.id in {"ctx", "context"}):
            found.append(f"{path.name}:{node.lineno} uses ctx.session")
        if (path.name not in REPOSITORY_MODULES and isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("sqlalchemy")
                and SQL_NAMES & {alias.name for alias in node.names}):
            found.append(f"{path.name}:{node.lineno} builds SQL outside a repository")
    return found


def test_handlers_reach_the_database_only_through_repositories() -> None:
    offences = [offence for package in PACKAGES
                for path in sorted((HANDLERS / package).glob("*.py"))
                for offence in _offences(path)]
    assert offences == []


async def test_a_new_job_gets_a_prefixed_code_and_each_fitter_once(h: Harness) -> None:
    async with h.services.db.session() as session:
        jobs = JobsRepo(session)
        job = await jobs.create_job(h.settings, title="Bad", now=h.clock.now(),
                                    staff_ids=("karl", "karl"))
        again = await jobs.assign(job, ("karl", "anna"), h.clock.now())
        assert job.code.startswith(h.settings.jobs.code_prefix.upper() + "-")
        assert again == ["anna"]
        assert await jobs.staff_of_job(job.id) == ["karl", "anna"]
        assert await jobs.job_by_code(job.code.lower()) is job


async def test_open_jobs_are_a_customers_own_and_a_fitters_assigned(h: Harness) -> None:
    first = await customer(h, Address("whatsapp", "+4917600000001"))
    other = await customer(h, Address("whatsapp", "+4917600000002"))
    async with h.services.db.session() as session:
        jobs = JobsRepo(session)
        own = await jobs.create_job(h.settings, title="Heizung", now=h.clock.now(),
                                    customer_id=first, staff_ids=("karl",))
        await jobs.create_job(h.settings, title="Dach", now=h.clock.now(), customer_id=other)
        person = await PeopleRepo(session).get(first)
        assert person is not None
        assert [j.code for j in await jobs.open_jobs_for(person)] == [own.code]
        karl = h.settings.staff_by_id("karl")
        assert [j.code for j in await jobs.open_jobs_for(person, karl)] == [own.code]
        anna = h.settings.staff_by_id("anna")  # the office belongs to every open job
        assert len(await jobs.open_jobs_for(person, anna)) == 2
