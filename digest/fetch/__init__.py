"""Fetch stage: HTTP retrieval (http.py) and when to fetch again (policy.py)."""
