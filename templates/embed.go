// Package templates holds the template trees saasgen renders: project/ is a
// whole new repository, module/ is one domain module (rendered once per
// module by `saasgen new --modules` and by `saasgen add module`). Every file
// ends in .tmpl; path segments may be templates too.
package templates

import "embed"

// FS holds both trees. The all: prefix keeps dotfiles such as .gitignore,
// .env.example and .github/.
//
//go:embed all:project all:module
var FS embed.FS
