from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "retain.customers"
    label = "customers"
    verbose_name = "Customers"
