-- A hot deal may split its stock over buckets in different Redis hash slots (docs/flash-sales.md,
-- "A hot product beyond one shard"). PostgreSQL's claim counts the deal as a whole, whatever the buckets.
ALTER TABLE deals ADD COLUMN buckets integer NOT NULL DEFAULT 1 CHECK (buckets BETWEEN 1 AND 32);
