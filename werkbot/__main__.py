"""`python -m werkbot` runs the `werkbot` command."""

from werkbot.bot.cli import main

raise SystemExit(main())
