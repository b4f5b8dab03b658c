"""What combines runs into a problem's findings: each module takes trained runs and data
and returns plain numbers and the figures that show them. A spec section of the same
name (`beta_search:`, `interpolation:`) asks for one."""
