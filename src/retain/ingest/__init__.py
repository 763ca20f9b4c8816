"""The doors data comes in by: the Segment-compatible tracking API and bulk imports."""
