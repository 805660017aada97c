package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// This file checks a bbolt file's page structure with bounds-checked reads
// before bbolt itself touches it. bbolt follows page ids and element offsets
// through unchecked pointers into its memory map; on a truncated or damaged
// file that is a SIGBUS or SIGSEGV, which kills the process rather than
// returning an error. A restore must refuse such a file cleanly, so every
// page reachable from the meta page is read here with ReadAt first: once
// this walk passes, every address bbolt will compute lies inside the file.
//
// Layout (bbolt v1.5, go.etcd.io/bbolt/internal/common), native byte order:
//   page header: id u64, flags u16, count u16, overflow u32      (16 bytes)
//   meta (after the header): magic u32, version u32, pageSize u32, flags u32,
//     root {pgid u64, sequence u64}, freelist u64, pgid (high water) u64,
//     txid u64, checksum u64 = FNV-64a of the 56 bytes before it
//   branch element: pos u32, ksize u32, pgid u64                 (16 bytes)
//   leaf element: flags u32, pos u32, ksize u32, vsize u32       (16 bytes)
//     pos is relative to the element itself; flags&1 marks a sub-bucket
//     whose value is {root u64, sequence u64} and, when root is 0, an
//     inline leaf page right after those 16 bytes.
//   freelist page: count u16 in the header, or 0xFFFF and the real count in
//     the first u64; then page ids u64.

const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	elementSize    = 16
	metaSize       = 64
	flagBranch     = 0x01
	flagLeaf       = 0x02
	flagMeta       = 0x04
	flagFreelist   = 0x10
	bucketLeafFlag = 0x01
	noFreelist     = ^uint64(0)
	minPageSize    = 1024
	maxPageSize    = 1 << 16
	// maxSpan bounds one page plus its overflow pages. Our largest record is
	// an 8 MiB envelope, base64 in JSON; anything far beyond is damage.
	maxSpan   = 64 << 20
	maxDepth  = 64
	firstMeta = 0x1000
)

var ne = binary.NativeEndian

// fileMeta is the meta page bbolt would use.
type fileMeta struct {
	pageSize int
	root     uint64
	freelist uint64
	hwm      uint64
	txid     uint64
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// parseMeta reads the meta stored in a page buffer (header included).
func parseMeta(page []byte) (fileMeta, error) {
	if len(page) < pageHeaderSize+metaSize {
		return fileMeta{}, errors.New("meta page cut short")
	}
	m := page[pageHeaderSize : pageHeaderSize+metaSize]
	if ne.Uint32(m[0:]) != boltMagic {
		return fileMeta{}, errors.New("bad magic number")
	}
	if ne.Uint32(m[4:]) != boltVersion {
		return fileMeta{}, fmt.Errorf("bbolt format version %d, want %d", ne.Uint32(m[4:]), boltVersion)
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:56])
	if h.Sum64() != ne.Uint64(m[56:]) {
		return fileMeta{}, errors.New("meta checksum mismatch")
	}
	return fileMeta{
		pageSize: int(ne.Uint32(m[8:])),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hwm:      ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, nil
}

// checkMetaAndFreelist picks the meta page as bbolt does (the higher txid of
// the valid ones) and checks it and the freelist against the file size.
func checkMetaAndFreelist(r io.ReaderAt, size int64) (fileMeta, error) {
	if size < firstMeta {
		return fileMeta{}, fmt.Errorf("%w: file is %d bytes, too small for a bbolt database", ErrNotADatabase, size)
	}
	buf := make([]byte, firstMeta)
	if _, err := r.ReadAt(buf, 0); err != nil {
		return fileMeta{}, fmt.Errorf("read meta 0: %w", err)
	}
	m0, err0 := parseMeta(buf)
	pageSize := m0.pageSize
	if err0 != nil {
		// Like bbolt: find the second meta page by trying page sizes.
		for ps := minPageSize; ps <= maxPageSize && int64(ps)+pageHeaderSize+metaSize <= size; ps <<= 1 {
			b := make([]byte, pageHeaderSize+metaSize)
			if _, err := r.ReadAt(b, int64(ps)); err != nil {
				continue
			}
			if m, err := parseMeta(b); err == nil && m.pageSize == ps {
				pageSize = ps
				break
			}
		}
		if pageSize == 0 {
			return fileMeta{}, fmt.Errorf("%w: no valid meta page (%v)", ErrNotADatabase, err0)
		}
	}
	if pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0 {
		return fileMeta{}, corruptf("page size %d", pageSize)
	}
	var m1 fileMeta
	err1 := errors.New("file too short for meta 1")
	if int64(pageSize)*2 <= size {
		b := make([]byte, pageHeaderSize+metaSize)
		if _, err := r.ReadAt(b, int64(pageSize)); err == nil {
			m1, err1 = parseMeta(b)
		}
	}
	a, errA, b, errB := m0, err0, m1, err1
	if m1.txid > m0.txid {
		a, errA, b, errB = m1, err1, m0, err0
	}
	var m fileMeta
	switch {
	case errA == nil:
		m = a
	case errB == nil:
		m = b
	default:
		return fileMeta{}, fmt.Errorf("%w: both meta pages invalid (%v; %v)", ErrNotADatabase, err0, err1)
	}
	if m.pageSize != pageSize {
		return fileMeta{}, corruptf("meta page size %d differs from %d", m.pageSize, pageSize)
	}
	if m.hwm < 3 || m.hwm > uint64(size)/uint64(pageSize) {
		return fileMeta{}, corruptf("database claims %d pages of %d bytes but the file is %d bytes (truncated?)", m.hwm, pageSize, size)
	}
	if m.root < 2 || m.root >= m.hwm {
		return fileMeta{}, corruptf("root page %d out of range [2,%d)", m.root, m.hwm)
	}
	if m.freelist != noFreelist {
		if m.freelist < 2 || m.freelist >= m.hwm {
			return fileMeta{}, corruptf("freelist page %d out of range [2,%d)", m.freelist, m.hwm)
		}
		w := &walker{r: r, m: m}
		span, err := w.readSpan(m.freelist, flagFreelist, 0)
		if err != nil {
			return fileMeta{}, err
		}
		count, idx := uint64(ne.Uint16(span[10:])), uint64(0)
		if count == 0xFFFF {
			if len(span) < pageHeaderSize+8 {
				return fileMeta{}, corruptf("freelist page %d cut short", m.freelist)
			}
			count, idx = ne.Uint64(span[pageHeaderSize:]), 1
		}
		if count > uint64(len(span)) || pageHeaderSize+(idx+count)*8 > uint64(len(span)) {
			return fileMeta{}, corruptf("freelist of %d ids overruns its page", count)
		}
		for i := idx; i < idx+count; i++ {
			if id := ne.Uint64(span[pageHeaderSize+i*8:]); id < 2 || id >= m.hwm {
				return fileMeta{}, corruptf("freelist holds page %d outside [2,%d)", id, m.hwm)
			}
		}
	}
	return m, nil
}

// checkFileStructure walks every page reachable from the meta page.
func checkFileStructure(ctx context.Context, r io.ReaderAt, size int64) error {
	m, err := checkMetaAndFreelist(r, size)
	if err != nil {
		return err
	}
	w := &walker{r: r, m: m, ctx: ctx, seen: make([]uint64, (m.hwm+63)/64)}
	w.mark(0)
	w.mark(1)
	if m.freelist != noFreelist {
		span, err := w.readSpan(m.freelist, flagFreelist, 0)
		if err != nil {
			return err
		}
		for i := uint64(0); i <= uint64(ne.Uint32(span[12:])); i++ {
			w.mark(m.freelist + i)
		}
	}
	return w.walkPage(m.root, 0)
}

type walker struct {
	r     io.ReaderAt
	m     fileMeta
	ctx   context.Context
	seen  []uint64
	pages int
	bufs  [][]byte
}

func (w *walker) mark(id uint64) bool {
	word, bit := id/64, uint64(1)<<(id%64)
	if w.seen[word]&bit != 0 {
		return false
	}
	w.seen[word] |= bit
	return true
}

// buffer returns the reusable read buffer for one tree depth: a parent's
// page stays intact while its children are read into deeper buffers.
func (w *walker) buffer(depth int, n uint64) []byte {
	for len(w.bufs) <= depth {
		w.bufs = append(w.bufs, nil)
	}
	if uint64(cap(w.bufs[depth])) < n {
		w.bufs[depth] = make([]byte, n)
	}
	return w.bufs[depth][:n]
}

// readSpan reads page id and its overflow pages after checking the header.
func (w *walker) readSpan(id uint64, wantFlags uint16, depth int) ([]byte, error) {
	ps := uint64(w.m.pageSize)
	head := w.buffer(depth, ps)
	if _, err := w.r.ReadAt(head, int64(id*ps)); err != nil {
		return nil, corruptf("page %d: read: %v", id, err)
	}
	if got := ne.Uint64(head[0:]); got != id {
		return nil, corruptf("page %d: header names page %d", id, got)
	}
	if flags := ne.Uint16(head[8:]); flags&wantFlags == 0 || flags&(flags-1) != 0 {
		return nil, corruptf("page %d: unexpected page type %#x", id, flags)
	}
	overflow := uint64(ne.Uint32(head[12:]))
	if id+overflow >= w.m.hwm {
		return nil, corruptf("page %d: %d overflow pages run past the end (%d pages)", id, overflow, w.m.hwm)
	}
	if (overflow+1)*ps > maxSpan {
		return nil, corruptf("page %d: %d overflow pages is implausibly large", id, overflow)
	}
	if overflow == 0 {
		return head, nil
	}
	span := w.buffer(depth, (overflow+1)*ps)
	if _, err := w.r.ReadAt(span, int64(id*ps)); err != nil {
		return nil, corruptf("page %d: read overflow: %v", id, err)
	}
	return span, nil
}

func (w *walker) walkPage(id uint64, depth int) error {
	if depth > maxDepth {
		return corruptf("page %d: tree deeper than %d", id, maxDepth)
	}
	if id < 2 || id >= w.m.hwm {
		return corruptf("page id %d out of range [2,%d)", id, w.m.hwm)
	}
	if w.pages++; w.pages%4096 == 0 && w.ctx != nil {
		if err := w.ctx.Err(); err != nil {
			return err
		}
	}
	span, err := w.readSpan(id, flagBranch|flagLeaf, depth)
	if err != nil {
		return err
	}
	for i := uint64(0); i <= uint64(ne.Uint32(span[12:])); i++ {
		if !w.mark(id + i) {
			return corruptf("page %d is referenced twice", id+i)
		}
	}
	flags, count := ne.Uint16(span[8:]), int(ne.Uint16(span[10:]))
	if flags == flagBranch {
		return w.walkBranch(id, span, count, depth)
	}
	return w.walkLeaf(fmt.Sprintf("page %d", id), span, count, depth, false)
}

func (w *walker) walkBranch(id uint64, span []byte, count, depth int) error {
	if count == 0 {
		return corruptf("page %d: empty branch page", id)
	}
	if pageHeaderSize+count*elementSize > len(span) {
		return corruptf("page %d: %d elements overrun the page", id, count)
	}
	for i := range count {
		off := pageHeaderSize + i*elementSize
		pos, ksize := uint64(ne.Uint32(span[off:])), uint64(ne.Uint32(span[off+4:]))
		if uint64(off)+pos+ksize > uint64(len(span)) {
			return corruptf("page %d: branch element %d points outside the page", id, i)
		}
		if err := w.walkPage(ne.Uint64(span[off+8:]), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// walkLeaf checks a leaf page held in span (a file page or an inline page).
func (w *walker) walkLeaf(where string, span []byte, count, depth int, inline bool) error {
	if pageHeaderSize+count*elementSize > len(span) {
		return corruptf("%s: %d elements overrun the page", where, count)
	}
	for i := range count {
		off := pageHeaderSize + i*elementSize
		flags := ne.Uint32(span[off:])
		pos, ksize, vsize := uint64(ne.Uint32(span[off+4:])), uint64(ne.Uint32(span[off+8:])), uint64(ne.Uint32(span[off+12:]))
		start := uint64(off) + pos
		end := start + ksize + vsize
		if end > uint64(len(span)) {
			return corruptf("%s: leaf element %d points outside the page", where, i)
		}
		if flags&bucketLeafFlag == 0 {
			continue
		}
		if inline {
			// bbolt inlines only buckets without sub-buckets. Allowing them
			// would also let crafted elements point at the same bytes again
			// and again: exponential work instead of a verdict.
			return corruptf("%s: element %d: an inline bucket holds a bucket", where, i)
		}
		v := span[start+ksize : end]
		if len(v) < 16 {
			return corruptf("%s: bucket element %d is %d bytes", where, i, len(v))
		}
		if root := ne.Uint64(v); root != 0 {
			if err := w.walkPage(root, depth+1); err != nil {
				return err
			}
			continue
		}
		page := v[16:]
		if len(page) < pageHeaderSize || ne.Uint16(page[8:]) != flagLeaf {
			return corruptf("%s: inline bucket %d has no leaf page", where, i)
		}
		if err := w.walkLeaf(fmt.Sprintf("%s inline bucket %d", where, i), page, int(ne.Uint16(page[10:])), depth+1, true); err != nil {
			return err
		}
	}
	return nil
}
