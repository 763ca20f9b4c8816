"""The journeys' pages of the console, one module per page (or group of pages): the list,
a journey's page (its steps, the holdout comparison, versions, pause, resume and archive),
applying a document from the browser, a preview of its emails for one customer, and one
customer's journeys and messages (the 360 loads it)."""
