-- An erased customer who comes back gets its anonymous assignment again (see Assign). Only
-- experiments that have had erasures need that lookup on the hot path of assignment: this
-- counter says which.

-- +goose Up
ALTER TABLE experiments ADD COLUMN erasures bigint NOT NULL DEFAULT 0 CHECK (erasures >= 0);
UPDATE experiments e SET erasures = (SELECT count(*) FROM assignments a
    WHERE a.experiment_id = e.id AND a.customer_id LIKE 'erased:%');

-- +goose Down
ALTER TABLE experiments DROP COLUMN erasures;
