-- The memory ledger in the front end's vocabulary (the original's): statuses
-- ACTIVE / CANDIDATE / ARCHIVED, types EXPLICIT / INFERRED / PERSONAL_INFO.
-- Every existing memory was added by its user, so it becomes EXPLICIT.

ALTER TABLE user_memories DROP CONSTRAINT user_memories_type_check;
ALTER TABLE user_memories DROP CONSTRAINT user_memories_status_check;
ALTER TABLE user_memories ALTER COLUMN type DROP DEFAULT;
ALTER TABLE user_memories ALTER COLUMN status DROP DEFAULT;

UPDATE user_memories SET
    type = 'EXPLICIT',
    status = CASE status WHEN 'archived' THEN 'ARCHIVED' ELSE 'ACTIVE' END;

ALTER TABLE user_memories
    ALTER COLUMN type SET DEFAULT 'EXPLICIT',
    ALTER COLUMN status SET DEFAULT 'ACTIVE',
    ADD CONSTRAINT user_memories_type_check
        CHECK (type IN ('EXPLICIT', 'INFERRED', 'PERSONAL_INFO')),
    ADD CONSTRAINT user_memories_status_check
        CHECK (status IN ('ACTIVE', 'CANDIDATE', 'ARCHIVED'));

-- One row per fact and user, whatever its case and surrounding space: adding a
-- fact again finds the existing row, and a rejected (archived) suggestion is
-- never proposed again.
DELETE FROM user_memories a USING user_memories b
WHERE a.user_id = b.user_id
  AND lower(btrim(a.content)) = lower(btrim(b.content))
  AND (a.created_at, a.id) > (b.created_at, b.id);
CREATE UNIQUE INDEX user_memories_fact ON user_memories (user_id, md5(lower(btrim(content))));

-- When the project memory (the session's summary) was last written.
ALTER TABLE sessions ADD COLUMN summary_updated_at timestamptz;
UPDATE sessions SET summary_updated_at = updated_at WHERE summary IS NOT NULL;
