package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// signatures are the author and committer of commits saasgen makes:
// GIT_AUTHOR_* and GIT_COMMITTER_* when set, else the user's global git
// identity, else "saasgen". Only commit metadata depends on them, never a
// generated file.
func signatures(now time.Time) (author, committer *object.Signature) {
	base := object.Signature{Name: "saasgen", Email: "saasgen@localhost", When: now}
	if cfg, err := config.LoadConfig(config.GlobalScope); err == nil {
		if cfg.User.Name != "" {
			base.Name = cfg.User.Name
		}
		if cfg.User.Email != "" {
			base.Email = cfg.User.Email
		}
	}
	withEnv := func(prefix string) *object.Signature {
		sig := base
		if v := os.Getenv(prefix + "_NAME"); v != "" {
			sig.Name = v
		}
		if v := os.Getenv(prefix + "_EMAIL"); v != "" {
			sig.Email = v
		}
		return &sig
	}
	return withEnv("GIT_AUTHOR"), withEnv("GIT_COMMITTER")
}

// GitInit makes dir a git repository on branch main and commits paths (the
// generated files, relative to dir), or, when paths is nil, everything in
// dir. It returns the commit hash. An existing repository is reused.
func GitInit(dir, message string, paths []string) (string, error) {
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err == git.ErrRepositoryAlreadyExists {
		repo, err = git.PlainOpen(dir)
	}
	if err != nil {
		return "", fmt.Errorf("git init %s: %w", dir, err)
	}
	if paths != nil {
		return commitPaths(repo, message, paths)
	}
	// One add of the whole tree is much cheaper than one per file.
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("git add: %w", err)
	}
	return commit(wt, message)
}

// CheckGitRepo refuses, before anything is written, a --commit in a project
// that is not a git repository or whose index already holds staged changes
// (saasgen's commit would sweep them up).
func CheckGitRepo(root string) error {
	repo, err := git.PlainOpen(root)
	if err != nil {
		return invalid("--commit", root, "cannot commit: the project is not a git repository ("+err.Error()+"); run git init there, or leave out --commit")
	}
	return checkNothingStaged(repo, root)
}

// CheckExistingRepo refuses, before anything is written, a first commit into
// a repository that already exists at dir and has staged changes. A dir
// without a repository passes.
func CheckExistingRepo(dir string) error {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return nil
	}
	return checkNothingStaged(repo, dir)
}

func checkNothingStaged(repo *git.Repository, root string) error {
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	st, err := wt.Status()
	if err != nil {
		return fmt.Errorf("git status in %s: %w", root, err)
	}
	var staged []string
	for p, status := range st {
		if status.Staging != git.Unmodified && status.Staging != git.Untracked {
			staged = append(staged, p)
		}
	}
	if len(staged) == 0 {
		return nil
	}
	slices.Sort(staged)
	if len(staged) > 3 {
		staged = append(staged[:3], fmt.Sprintf("and %d more", len(staged)-3))
	}
	return invalid("git repository", root, "has staged changes ("+strings.Join(staged, ", ")+") that saasgen's commit would include; commit or unstage them first (git restore --staged .), or pass --no-git / leave out --commit")
}

// GitCommitPaths commits the given paths (relative to the repository root)
// in the repository at root.
func GitCommitPaths(root, message string, paths []string) (string, error) {
	repo, err := git.PlainOpen(root)
	if err != nil {
		return "", fmt.Errorf("opening git repository %s: %w", root, err)
	}
	return commitPaths(repo, message, paths)
}

func commitPaths(repo *git.Repository, message string, paths []string) (string, error) {
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	for _, p := range paths {
		// A path saasgen removed is staged as removed.
		if _, err := os.Lstat(filepath.Join(wt.Filesystem.Root(), filepath.FromSlash(p))); errors.Is(err, fs.ErrNotExist) {
			if _, err := wt.Remove(p); err != nil {
				return "", fmt.Errorf("git rm %s: %w", p, err)
			}
			continue
		}
		if _, err := wt.Add(p); err != nil {
			return "", fmt.Errorf("git add %s: %w", p, err)
		}
	}
	return commit(wt, message)
}

func commit(wt *git.Worktree, message string) (string, error) {
	author, committer := signatures(time.Now())
	h, err := wt.Commit(message, &git.CommitOptions{Author: author, Committer: committer})
	if err != nil {
		return "", fmt.Errorf("git commit: %w", err)
	}
	return h.String(), nil
}
