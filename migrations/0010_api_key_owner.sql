-- One person, one vote. An API key is its owner for segregation of duties: it records the person who
-- created it (owner_id) and that person's roles at the time (owner_roles). CAB votes and emergency
-- overrides through a key need delegated_voting (set only by an admin, in person) and then count as
-- the owner's vote, with the intersection of the key's and the owner's roles.
ALTER TABLE api_keys ADD COLUMN owner_id TEXT;
ALTER TABLE api_keys ADD COLUMN owner_roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE api_keys ADD COLUMN delegated_voting INTEGER NOT NULL DEFAULT 0;

-- Existing keys: the owner is whoever created them (or, for a key created through another key, that
-- key's creator). Their owner roles are unknown, so none are assumed, and none may vote.
UPDATE api_keys SET owner_id = COALESCE(
  (SELECT k.created_by FROM api_keys k WHERE k.id = api_keys.created_by AND k.tenant_id = api_keys.tenant_id),
  created_by
);

CREATE INDEX idx_api_keys_owner ON api_keys (tenant_id, owner_id);

-- Votes are a person's: approver_id is the person, api_key_id the delegated key it came through.
ALTER TABLE approvals ADD COLUMN api_key_id TEXT;

-- Votes cast through a key before this migration are their owner's. (Changes a key requested keep the
-- key's id as requester; segregation-of-duties checks resolve it to the key's owner.)
UPDATE approvals SET api_key_id = approver_id,
  approver_id = (SELECT k.owner_id FROM api_keys k WHERE k.id = approvals.approver_id AND k.tenant_id = approvals.tenant_id)
WHERE approver_id IN (SELECT id FROM api_keys WHERE tenant_id = approvals.tenant_id);
