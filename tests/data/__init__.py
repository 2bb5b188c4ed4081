"""Tests for mlp_course.data, one module per source module; nothing here downloads."""
