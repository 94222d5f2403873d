// Package alias maps friendly model names to what they stand for.
//
// # Model
//
// An Alias maps a name, such as "smart", to a target: a model group the
// router knows, another alias, or a provider/model string. Aliases chain
// ("smart" → "gpt-4" → "gpt-4o-group"); Resolve follows a chain to its final
// target and reports the chain it walked. A name that is not an alias
// resolves to itself. Chains are checked when they are written: a write that
// would create a cycle, or a chain deeper than the limit (WithMaxDepth), is
// refused with an error that shows the chain ("a → b → c → a").
//
// Names and targets are case-sensitive, non-empty, at most MaxNameLen bytes
// of valid UTF-8, without whitespace or control characters. A target may
// contain '/'. An alias can be disabled (it and every alias chained through
// it fail to resolve with ErrDisabled) or hidden (it resolves but is not
// listed). Each change stamps Updated and a new Revision taken from a
// registry-wide counter; Update can require the revision the caller last saw,
// so that two admins cannot silently overwrite each other.
//
// The owner of the model groups plugs in a TargetCheck with SetTargetCheck to
// refuse aliases that point at nothing or shadow a group, and to make Resolve
// fail for names it does not know. Without one, any well-formed target is
// accepted.
//
// # Lifecycle
//
// New loads the aliases from a Store (WithStore; the default is a
// MemoryStore, and FileStore keeps them in a JSON file) and refuses a store it
// cannot read or whose content is invalid. Create, Update and Delete change
// the registry; Get, List and Resolve read it; Subscribe watches the changes.
// Close stops event delivery and refuses further writes.
//
// # Concurrency
//
// A Registry is safe for concurrent use. Its state is an immutable snapshot
// published through an atomic pointer; every alias's chain, final target and
// disabled state are computed when it is written, so Resolve is one lookup
// in a hash table laid out for it: it takes no lock and, when it succeeds,
// allocates nothing. Get and List take no lock either. Writes are
// serialized; each one builds a new snapshot (recomputing only the aliases
// whose chain goes through the changed one), saves it to the Store and only
// then publishes it, so a reader sees the registry before or after a write,
// never in between, and a write that cannot be saved changes nothing. A
// Store that implements RowStore (the SQL stores of the package sqlstore)
// receives the one alias written; any other Store receives the whole state
// on every write, which then costs time proportional to the number of
// aliases (the in-memory snapshot is rebuilt in either case). The
// TargetCheck and the Store are called while the write lock is held.
//
// Subscribers receive events in order, each from a goroutine of its own,
// never while a lock is held. Close stops those goroutines.
//
// # Zero value
//
// Use New to make a Registry. The zero Registry is empty and closed: it
// resolves every well-formed name to itself and refuses writes with
// ErrClosed. The zero MemoryStore is an empty store ready to use. In an
// Alias, Update or ListOptions the zero value of each field means the common
// case (active, listed, unchanged, not filtered).
//
// Revisions restart after the highest one stored when a Registry is created,
// so the revision of an alias deleted before a restart can be handed out
// again.
package alias
