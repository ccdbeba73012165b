package tools

// OpenTurns counts the caller turns held open for an answer (tests use it to stop driving
// the fake clock once a turn is waiting, so its filler timer does not fire early).
func (l *LiveCalls) OpenTurns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open)
}
