"""The world generator (altor-world/1), its reader and its validator."""
