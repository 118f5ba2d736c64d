-- Which model wrote each answer: the chat model, or its fallback when the chat
-- model failed before its first token. NULL for user messages and older answers.
ALTER TABLE messages ADD COLUMN model text;

-- The original's confidence scale for the memory ledger: a fact the user gave
-- is certain (100); a suggestion starts at 20 and gains 20 each time it is
-- proposed again, until the user approves it (100) or rejects it.
ALTER TABLE user_memories
    ADD COLUMN confidence smallint NOT NULL DEFAULT 100
        CHECK (confidence BETWEEN 0 AND 100);
UPDATE user_memories SET confidence = 20 WHERE status = 'CANDIDATE';
