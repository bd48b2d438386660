"""Models as the app sees them: model cards, tuning lineage, on-device tuning runs (docs/tuning.md)."""
