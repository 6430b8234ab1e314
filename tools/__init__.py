"""Pure pipeline stages of InterestLens: one module per stage, plus the shared records and errors."""
