/* Service endpoints: load the served assets once per worker. */
#ifndef ELENCHUS_SERVICE_H
#define ELENCHUS_SERVICE_H

void	service_init(void);

#endif
