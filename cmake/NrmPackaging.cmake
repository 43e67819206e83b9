# What `cmake --install` puts where, and the Debian package `cpack -G DEB` makes of it. The
# prefix defaults to /usr (CMakeLists.txt), so that the units, the package and a plain install
# agree: binaries in /usr/bin, the policy in /usr/share/nrm, configs in /etc/nrm (conffiles in
# the package), state in /var/lib/nrm and logs in /var/log/nrm (made by systemd and postinst).

install(TARGETS nrm nrm-broker nrm-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES policy/rules/gms.toml policy/rules/gms_cases.toml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/nrm/policy)
install(FILES packaging/nrm-alerts.yml DESTINATION ${CMAKE_INSTALL_DATADIR}/nrm/prometheus)

# The units name the installed paths, whatever the prefix.
foreach(unit nrm-broker.service nrm-agent@.service)
  configure_file(packaging/systemd/${unit}.in ${CMAKE_BINARY_DIR}/packaging/${unit} @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/${unit} DESTINATION lib/systemd/system)
endforeach()

# The broker's configuration as a starting point (a conffile: an upgrade keeps the operator's
# edits); the agent's example beside the docs, since each agency gets its own file.
install(FILES packaging/broker.toml.example DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/nrm
        RENAME broker.toml)
install(FILES packaging/broker.toml.example packaging/agent.toml.example
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(FILES packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The package's changelog (Debian policy: gzip -9n, in the doc directory).
set(NRM_CHANGELOG ${CMAKE_BINARY_DIR}/packaging/changelog)
file(WRITE ${NRM_CHANGELOG}
     "nrm (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
     "  * Package built from the nrm repository; see its history for changes.\n\n"
     " -- nrm maintainers <nrm-maintainers@example.org>  Mon, 07 Dec 2026 00:00:00 +0000\n")
add_custom_command(OUTPUT ${NRM_CHANGELOG}.gz
                   COMMAND gzip -9nkf ${NRM_CHANGELOG} DEPENDS ${NRM_CHANGELOG})
add_custom_target(nrm_changelog ALL DEPENDS ${NRM_CHANGELOG}.gz)
install(FILES ${NRM_CHANGELOG}.gz DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME changelog.gz)

set(CPACK_PACKAGE_NAME nrm)
set(CPACK_PACKAGE_VENDOR "nrm authors")
set(CPACK_PACKAGE_CONTACT "nrm maintainers <nrm-maintainers@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "secure referral broker for national referral mechanisms")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
       "Carries referrals of presumed victims of trafficking between police,\n"
       "shelters, NGOs and other agencies, end-to-end encrypted and signed,\n"
       "through a broker that sees no payload, applies a need-to-know policy and\n"
       "keeps a verifiable audit log. Contains nrm-broker, nrm-agent (each\n"
       "agency's agent) and nrm (keys, directory, policy, audit, demo).")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# tzdata: the web inbox shows times in the agency's zone (/usr/share/zoneinfo).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, tzdata")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(NRM_CONFFILES ${CMAKE_BINARY_DIR}/packaging/conffiles)
file(WRITE ${NRM_CONFFILES} "${CMAKE_INSTALL_FULL_SYSCONFDIR}/nrm/broker.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${NRM_CONFFILES} ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
