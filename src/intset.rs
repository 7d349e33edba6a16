//! The intset (intset.c): placeholder, filled in below.
