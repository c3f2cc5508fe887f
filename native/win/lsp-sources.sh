# lsp-sources.sh - the provider's sources but lower.c (the Wine harness, the
# test DLL's seams and the installed shim replace it), relative to native/.
# Sourced by lsp-build.sh and build.sh: one list for every build of the LSP.
LSP_SRC=(src/win/lsp/wsp.c src/win/lsp/passthru.c src/win/lsp/proto_socket.c src/win/lsp/proto_data.c
    src/win/lsp/proto_events.c src/win/lsp/proto_control.c src/win/lsp/wsock.c src/win/lsp/lower_io.c src/win/lsp/recv.c
    src/win/lsp/sendq.c src/win/lsp/ovl.c src/win/lsp/notify.c src/win/lsp/connect.c src/win/lsp/listen.c
    src/win/lsp/extensions.c)
