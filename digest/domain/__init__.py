"""What the whole house shares, below every stage: what a paper's id is (paper_ids) and what is known of a paper
(papers). Imports nothing of digest's: fetch, parse, clean, store and enrich all build on it."""
