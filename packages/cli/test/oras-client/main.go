// oras-client: a small registry client built on oras-go v1 (Debian's golang-oras-oras-go-dev),
// the OCI library of Helm 3.8-3.16 and of early releases of the oras command. The e2e tests
// (../e2e-oras-*.test.ts through ../helpers/oras-suite.ts) build it offline, in GOPATH mode
// against /usr/share/gocode, and drive it.
//
//	oras-client push REF --config-media-type T [--config FILE] [--artifact-type T] [--subject REF] FILE:MEDIATYPE...
//	oras-client pull REF OUTDIR [--allow MEDIATYPE,...]
//	oras-client referrers REF@DIGEST [--artifact-type T]
//
// Every command prints one JSON object on stdout; errors go to stderr with exit status 1.
// oras-go v1 has no referrers API, so `referrers` is a plain GET of /v2/<name>/referrers/<digest>
// with net/http, and `push --subject` resolves the subject through oras-go's resolver.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/pkg/content"
	"oras.land/oras-go/pkg/oras"
)

// manifest is an OCI image manifest with the fields of image-spec 1.1 (artifactType, subject).
type manifest struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	ArtifactType  string               `json:"artifactType,omitempty"`
	Config        ocispec.Descriptor   `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
	Subject       *ocispec.Descriptor  `json:"subject,omitempty"`
	Annotations   map[string]string    `json:"annotations,omitempty"`
}

type fileOut struct {
	Name      string `json:"name"`
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "oras-client: "+format+"\n", args...)
	os.Exit(1)
}

func registry() *content.Registry {
	reg, err := content.NewRegistry(content.RegistryOptions{PlainHTTP: true})
	if err != nil {
		fail("registry: %v", err)
	}
	return reg
}

func printJSON(v interface{}) {
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(v); err != nil {
		fail("encode: %v", err)
	}
}

func push(ctx context.Context, args []string) {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	configMediaType := fs.String("config-media-type", "application/vnd.oci.image.config.v1+json", "config media type")
	configFile := fs.String("config", "", "config file (default: {})")
	artifactType := fs.String("artifact-type", "", "manifest artifactType")
	subjectRef := fs.String("subject", "", "reference of the manifest this one refers to")
	if len(args) < 1 {
		fail("push: REF required")
	}
	ref := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		fail("push: %v", err)
	}
	reg := registry()
	store := content.NewMemory()

	configBytes := []byte("{}")
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			fail("push: %v", err)
		}
		configBytes = b
	}
	configDesc, err := store.Add("", *configMediaType, configBytes)
	if err != nil {
		fail("push: config: %v", err)
	}
	configDesc.Annotations = nil

	var layers []ocispec.Descriptor
	for _, spec := range fs.Args() {
		i := strings.LastIndex(spec, ":")
		if i <= 0 {
			fail("push: %q is not FILE:MEDIATYPE", spec)
		}
		path, mediaType := spec[:i], spec[i+1:]
		b, err := os.ReadFile(path)
		if err != nil {
			fail("push: %v", err)
		}
		desc, err := store.Add(filepath.Base(path), mediaType, b)
		if err != nil {
			fail("push: layer: %v", err)
		}
		layers = append(layers, desc)
	}

	m := manifest{
		SchemaVersion: 2,
		MediaType:     ocispec.MediaTypeImageManifest,
		ArtifactType:  *artifactType,
		Config:        configDesc,
		Layers:        layers,
	}
	if m.Layers == nil {
		m.Layers = []ocispec.Descriptor{}
	}
	if *subjectRef != "" {
		_, subject, err := reg.Resolve(ctx, *subjectRef)
		if err != nil {
			fail("push: resolve subject %s: %v", *subjectRef, err)
		}
		m.Subject = &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	}
	manifestBytes, err := json.Marshal(m)
	if err != nil {
		fail("push: %v", err)
	}
	manifestDesc := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest,
		Digest:    digest.FromBytes(manifestBytes),
		Size:      int64(len(manifestBytes)),
	}
	if err := store.StoreManifest(ref, manifestDesc, manifestBytes); err != nil {
		fail("push: %v", err)
	}
	desc, err := oras.Copy(ctx, store, ref, reg, "")
	if err != nil {
		fail("push %s: %v", ref, err)
	}
	printJSON(map[string]interface{}{"digest": desc.Digest.String(), "size": desc.Size, "mediaType": desc.MediaType})
}

func pull(ctx context.Context, args []string) {
	fs := flag.NewFlagSet("pull", flag.ExitOnError)
	allow := fs.String("allow", "", "comma-separated media types to pull (default: all)")
	if len(args) < 2 {
		fail("pull: REF OUTDIR required")
	}
	ref, outDir := args[0], args[1]
	if err := fs.Parse(args[2:]); err != nil {
		fail("pull: %v", err)
	}
	var opts []oras.CopyOpt
	if *allow != "" {
		opts = append(opts, oras.WithAllowedMediaTypes(strings.Split(*allow, ",")))
	}
	var root []byte
	var pulled []ocispec.Descriptor
	opts = append(opts, oras.WithRootManifest(func(b []byte) { root = b }), oras.WithLayerDescriptors(func(d []ocispec.Descriptor) { pulled = d }))
	store := content.NewMemory()
	desc, err := oras.Copy(ctx, registry(), ref, store, "pulled", opts...)
	if err != nil {
		fail("pull %s: %v", ref, err)
	}
	var m manifest
	if err := json.Unmarshal(root, &m); err != nil {
		fail("pull: manifest: %v", err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fail("pull: %v", err)
	}
	files := []fileOut{}
	for _, d := range pulled {
		name, ok := content.ResolveName(d)
		if !ok || name == "" {
			continue
		}
		_, b, ok := store.Get(d)
		if !ok {
			fail("pull: %s not in the store", d.Digest)
		}
		if digest.FromBytes(b) != d.Digest {
			fail("pull: %s: content does not match its digest", name)
		}
		if err := os.WriteFile(filepath.Join(outDir, filepath.Base(name)), b, 0o644); err != nil {
			fail("pull: %v", err)
		}
		files = append(files, fileOut{Name: name, MediaType: d.MediaType, Digest: d.Digest.String(), Size: d.Size})
	}
	printJSON(map[string]interface{}{
		"digest":          desc.Digest.String(),
		"mediaType":       desc.MediaType,
		"artifactType":    m.ArtifactType,
		"configMediaType": m.Config.MediaType,
		"files":           files,
	})
}

func referrers(ctx context.Context, args []string) {
	fs := flag.NewFlagSet("referrers", flag.ExitOnError)
	artifactType := fs.String("artifact-type", "", "filter by artifactType")
	if len(args) < 1 {
		fail("referrers: REF@DIGEST required")
	}
	ref := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		fail("referrers: %v", err)
	}
	at := strings.LastIndex(ref, "@")
	slash := strings.Index(ref, "/")
	if at < 0 || slash < 0 || slash > at {
		fail("referrers: %q is not HOST/NAME@DIGEST", ref)
	}
	host, name, dgst := ref[:slash], ref[slash+1:at], ref[at+1:]
	url := fmt.Sprintf("http://%s/v2/%s/referrers/%s", host, name, dgst)
	if *artifactType != "" {
		url += "?artifactType=" + *artifactType
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fail("referrers: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("referrers: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("referrers: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		fail("referrers: GET %s: %s: %s", url, resp.Status, body)
	}
	var index struct {
		MediaType string               `json:"mediaType"`
		Manifests []ocispec.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(body, &index); err != nil {
		fail("referrers: %v", err)
	}
	printJSON(map[string]interface{}{
		"contentType":    resp.Header.Get("Content-Type"),
		"filtersApplied": resp.Header.Get("OCI-Filters-Applied"),
		"mediaType":      index.MediaType,
		"manifests":      index.Manifests,
	})
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: oras-client push|pull|referrers ...")
	}
	ctx := context.Background()
	switch os.Args[1] {
	case "push":
		push(ctx, os.Args[2:])
	case "pull":
		pull(ctx, os.Args[2:])
	case "referrers":
		referrers(ctx, os.Args[2:])
	default:
		fail("unknown command %q", os.Args[1])
	}
}
