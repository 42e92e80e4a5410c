-- Verified checkpoints (issue 19). A verify that passes may record a checkpoint at the position it verified up to;
-- `verified` says which verify: 'full' (every event) or 'incremental' (the events after the verified checkpoint
-- before it, whose root it found unchanged). The incremental verify starts from the latest verified checkpoint.
-- From format 3 the checkpoint's hash covers `verified` (domain/canonical.py `checkpoint_hash`), so a checkpoint
-- cannot be marked verified afterwards without breaking the checkpoints' chain. Older rows keep their format.
ALTER TABLE checkpoints ADD COLUMN verified text CHECK (verified IN ('full', 'incremental'));
