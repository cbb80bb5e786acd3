"""Triage records storage: SQLAlchemy models, the store's transactions, reference codes and the
Alembic migrations. No Flask here: web/db.py binds it to the app, benchmarks use it directly."""
