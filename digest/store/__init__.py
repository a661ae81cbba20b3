"""Store stage: SQLAlchemy models, opening/upgrading the database, and the repository of queries."""
