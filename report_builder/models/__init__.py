"""The networks, as the papers and courses describe them. Which network a run trains, and
how, is its family's business (`report_builder.families`)."""
