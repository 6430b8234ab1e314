"""Pure pipeline stages of InterestLens: one module per stage, plus shared records and errors."""
