"""Indexes for the customers list (issue 11): the filters and sorts on every engine, and on
PostgreSQL trigram indexes for the substring search (``lower(column) LIKE '%text%'``), which
a B-tree cannot serve. SQLite has no pg_trgm; its search reads the table, as before."""

from django.db import migrations, models

#: The columns a search looks into, as ``search_customers`` compares them.
SEARCHED = ("external_id", "email", "name")


def _trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS customer_{column}_trgm ON customers_customer "
            f"USING gin (lower({column}) gin_trgm_ops)"
        )


def _drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        schema_editor.execute(f"DROP INDEX IF EXISTS customer_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_rescoring_run_model"),
    ]

    operations = [
        migrations.RunPython(_trigram_indexes, _drop_trigram_indexes),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["acquisition_channel"], name="customer_channel_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["segment"], name="customer_segment_idx"),
        ),
        migrations.AddIndex(
            model_name="score",
            index=models.Index(fields=["lifecycle_stage"], name="score_stage_idx"),
        ),
        migrations.AddIndex(
            model_name="score",
            index=models.Index(fields=["churn_risk"], name="score_risk_idx"),
        ),
        migrations.AddIndex(
            model_name="score",
            index=models.Index(fields=["rfm_segment"], name="score_rfm_idx"),
        ),
        migrations.AddIndex(
            model_name="score",
            index=models.Index(fields=["value_decile"], name="score_decile_idx"),
        ),
        migrations.AddIndex(
            model_name="score",
            index=models.Index(fields=["clv_12m"], name="score_clv_idx"),
        ),
        migrations.AddIndex(
            model_name="score",
            index=models.Index(fields=["p_alive"], name="score_p_alive_idx"),
        ),
    ]
