from report_builder.families.autoencoding.drawings import manifold_ticks


def test_manifold_ticks_are_the_grids_round_z_values():
    tiles, labels = manifold_ticks(20, 4.0)
    assert labels == ["-4", "-2", "0", "2", "4"]
    assert tiles[0] == 0 and tiles[-1] == 19 and tiles[2] == 9.5  # 0 lies between two tiles
