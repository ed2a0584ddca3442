"""A TPM character device for tests: a pseudo-terminal in raw mode in front of swtpm.

No /dev/tpm* can be created on the build machines, but a pty's slave end is a real
character device. Like /dev/tpmrm0, each command is written to it in one write() and its
whole response comes back from one read(); behind it answers a real swtpm.

Usage: pty-tpm.py SWTPM_PORT. Prints the device path, then obeys lines on stdin, each
acknowledged with "ok <line>" once in effect:
  hang        swallow the next command and never answer it
  delay MS    answer each command MS milliseconds late
  vanish      close the device for good, as an unplugged TPM
"""
import os
import pty
import select
import socket
import struct
import sys
import time
import tty

HEADER = 10


def recv_exactly(sock, size):
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError('swtpm closed the connection')
        data += chunk
    return data


def main():
    master, slave = pty.openpty()
    # Raw mode: no echo, no line editing, every byte passed through untouched.
    tty.setraw(slave)
    # Keeping the slave open ourselves means our reader closing it is not a hangup.
    tpm = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
    tpm.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(os.ttyname(slave), flush=True)

    pending = b''
    hang = False
    delay = 0.0
    while True:
        ready, _, _ = select.select([master, sys.stdin], [], [])
        if sys.stdin in ready:
            line = sys.stdin.readline().strip()
            if not line:
                return
            words = line.split()
            if words[0] == 'hang':
                hang = True
            elif words[0] == 'delay':
                delay = int(words[1]) / 1000
            elif words[0] == 'vanish':
                os.close(master)
                os.close(slave)
                print('ok ' + line, flush=True)
                return
            print('ok ' + line, flush=True)
        if master in ready:
            pending += os.read(master, 4096)
            while len(pending) >= HEADER:
                size = struct.unpack('>I', pending[2:6])[0]
                if len(pending) < size:
                    break
                command, pending = pending[:size], pending[size:]
                if hang:
                    hang = False
                    continue
                tpm.sendall(command)
                response = recv_exactly(tpm, HEADER)
                response += recv_exactly(tpm, struct.unpack('>I', response[2:6])[0] - HEADER)
                if delay:
                    time.sleep(delay)
                # One write, so that one read() on the device returns all of it.
                os.write(master, response)


if __name__ == '__main__':
    main()
