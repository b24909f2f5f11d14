-- Targeting: which customers enter an experiment. eligibility is a list of rules on customer
-- attributes that every customer must pass; coverage is the share of customers
-- admitted (hashed apart from the arm, so raising it keeps every earlier assignment); a
-- layer lets experiments split one hash space so that a customer is in at most one of them,
-- each owning the range [layer_offset, layer_offset + coverage).

-- +goose Up
ALTER TABLE experiments
    ADD COLUMN eligibility jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(eligibility) = 'array'),
    ADD COLUMN coverage double precision NOT NULL DEFAULT 1 CHECK (coverage > 0 AND coverage <= 1),
    ADD COLUMN layer text CHECK (layer ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    ADD COLUMN layer_offset double precision CHECK (layer_offset >= 0 AND layer_offset < 1),
    ADD CONSTRAINT experiments_layer_range CHECK ((layer IS NULL) = (layer_offset IS NULL)
        AND (layer_offset IS NULL OR layer_offset + coverage <= 1 + 1e-9));

-- +goose Down
ALTER TABLE experiments DROP CONSTRAINT experiments_layer_range,
    DROP COLUMN layer_offset, DROP COLUMN layer, DROP COLUMN coverage, DROP COLUMN eligibility;
