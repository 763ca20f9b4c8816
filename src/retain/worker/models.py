"""The queue: one row per job."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    READY = "ready"
    DONE = "done"
    FAILED = "failed"


class Job(models.Model):
    name = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.READY)
    run_after = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    #: At most one ready job per key: enqueueing the same key again while one waits is a no-op.
    unique_key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "run_after"], name="job_ready_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["unique_key"],
                condition=models.Q(status="ready"),
                name="one_ready_job_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.status})"
