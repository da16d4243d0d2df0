# mk/net.mk - guest networking: lwIP from Debian's source package, the ring driver, sockets.
