// Clang's thread-safety annotations (as in LevelDB's port/thread_annotations.h):
// they document which mutex guards a member, and clang's -Wthread-safety can
// check them. Other compilers ignore them.
#ifndef API_THREAD_ANNOTATIONS_H_
#define API_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define LEDGERD_GUARDED_BY(x) __attribute__((guarded_by(x)))
#else
#define LEDGERD_GUARDED_BY(x)
#endif

#endif  // API_THREAD_ANNOTATIONS_H_
