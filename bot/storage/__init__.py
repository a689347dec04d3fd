"""Durable storage: SQLAlchemy models, the database handle and small repositories."""
