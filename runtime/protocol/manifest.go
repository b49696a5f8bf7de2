package protocol

// ServiceSpec is what an executor tells the engine about one service it can run: its name and
// its handlers. Like Restate's discovery manifest, it is the only knowledge of user code the
// engine has. Service kinds (object, workflow) and handler kinds (exclusive, shared) come later.
type ServiceSpec struct {
	Name     string
	Handlers []string
}

// HasHandler reports whether the service declares the named handler.
func (s ServiceSpec) HasHandler(name string) bool {
	for _, h := range s.Handlers {
		if h == name {
			return true
		}
	}
	return false
}
