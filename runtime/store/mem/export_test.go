package mem

// MaxShift lets the tests set how far newCell shifts keys to file a new one in place.
var MaxShift = &maxShift
