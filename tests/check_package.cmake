# Builds the .deb into a scratch folder and checks that it installs every program of the suite.
set(out ${BINARY_DIR}/package-test)
file(REMOVE_RECURSE ${out})
execute_process(COMMAND ${CPACK} -G DEB -B ${out} --config ${BINARY_DIR}/CPackConfig.cmake
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cpack failed:\n${output}")
endif()
file(GLOB debs ${out}/*.deb)
list(LENGTH debs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one .deb in ${out}, found: ${debs}")
endif()
execute_process(COMMAND dpkg-deb --contents ${debs} OUTPUT_VARIABLE contents RESULT_VARIABLE result)
foreach(path usr/bin/echo-server usr/bin/udp-chat usr/bin/loadgen
             usr/share/man/man1/echo-server.1.gz usr/share/man/man1/udp-chat.1.gz
             usr/share/man/man1/loadgen.1.gz usr/share/doc/echo-chat-suite/copyright
             usr/share/doc/echo-chat-suite/changelog.Debian.gz
             usr/share/doc/echo-chat-suite/README.md
             usr/lib/systemd/system/echo-server.service usr/lib/systemd/system/echo-server.socket)
  if(NOT contents MATCHES " \\./${path}\n")
    message(FATAL_ERROR "the .deb lacks ${path}:\n${contents}")
  endif()
endforeach()
execute_process(COMMAND dpkg-deb --field ${debs} Maintainer Section Priority
                OUTPUT_VARIABLE fields)
if(fields MATCHES "localhost" OR NOT fields MATCHES "Section: net")
  message(FATAL_ERROR "the .deb's control fields are not as planned:\n${fields}")
endif()
execute_process(COMMAND dpkg-deb --field ${debs} Depends OUTPUT_VARIABLE depends)
if(NOT depends MATCHES "libfmt")
  message(FATAL_ERROR "the .deb does not depend on libfmt (shlibdeps failed?): '${depends}'")
endif()
message(STATUS "ok: ${debs}: ${depends}")
file(REMOVE_RECURSE ${out})
