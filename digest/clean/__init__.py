"""Clean stage: sanitise HTML, absolutise and de-track links, give items stable guids."""
