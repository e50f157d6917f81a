"""Item pipelines: thin stages extract → validate → dedupe → store (installed as newsarchive.pipelines)."""
